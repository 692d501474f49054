"""LHCO black boxes: hidden truth, organiser configuration and scoring of answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hepbench.challenges.lhco.black_box import BlackBoxConfig, make_black_box, read_config, score_answer
from hepbench.challenges.lhco.dataset import load_inputs
from hepbench.datafiles import read_table, sidecar_path
from hepbench.scoring.bump_hunt import bump_hunt


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("box")
    config = root / "secret.json"
    config.write_text(
        json.dumps({"seed": 21, "preset": "tiny", "n_signal": 600, "m_wprime": 4.0, "m_x": 0.3, "m_y": 0.15})
    )
    config.chmod(0o600)
    truth = make_black_box(config, root / "public", root / "organiser")
    return root, truth


def test_public_folder_holds_no_truth(box) -> None:
    root, truth = box
    assert sorted(p.name for p in (root / "public").iterdir()) == ["data.json", "data.parquet"]
    text = sidecar_path(root / "public" / "data.parquet").read_text()
    assert "m_wprime" not in text and "n_signal" not in text and "seed" not in text
    data = load_inputs(root / "public").data
    assert "label" not in data.columns and len(data) == 30_600
    assert truth["n_signal"] == 600 and truth["m_wprime"] == 4.0
    labels = read_table(root / "organiser" / "data_truth.parquet")["label"]
    assert labels.sum() == 600
    # The hidden W' sits where the config put it.
    assert data["mjj"][labels.to_numpy() == 1].median() == pytest.approx(4.0, abs=0.15)


def test_scoring_an_answer(box) -> None:
    root, truth = box
    labels = read_table(root / "organiser" / "data_truth.parquet")["label"].to_numpy()
    rng = np.random.default_rng(0)
    scores = rng.normal(2.0 * labels, 1.0)
    np.save(root / "scores.npy", scores)
    answer = root / "answer.json"
    answer.write_text(json.dumps({"significance": 4.5, "mass": 3.9, "mass_uncertainty": 0.2, "scores": "scores.npy"}))
    result = score_answer(answer, root / "organiser")
    assert result["detection_correct"] and result["claimed"]
    assert result["mass_error"] == pytest.approx(0.1)
    assert result["mass_pull"] == pytest.approx(-0.5)
    assert result["mass_within_1sigma"]
    assert 0.88 < result["auc"] < 0.95  # Gaussians two sigma apart: Phi(sqrt(2)) = 0.92
    missed = score_answer({"significance": 1.0}, root / "organiser")
    assert not missed["detection_correct"] and "mass_error" not in missed


def test_no_signal_box_and_a_bump_hunt_on_it(tmp_path) -> None:
    truth = make_black_box(BlackBoxConfig(seed=5, preset="tiny", n_signal=0), tmp_path / "pub", tmp_path / "org")
    assert not truth["has_signal"] and truth["m_wprime"] is None
    data = load_inputs(tmp_path / "pub").data
    hunt = bump_hunt(data["mjj"].to_numpy())
    assert hunt.z < 3.0
    result = score_answer({"significance": hunt.z}, tmp_path / "org")
    assert result["detection_correct"]


def test_bad_config_and_answer(tmp_path, box) -> None:
    root, _ = box
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"seed": 1, "n_signal": -3}))
    with pytest.raises(ValueError, match=r"c.json: readable by others \(mode 0644\).*chmod 600"):
        read_config(path)
    path.chmod(0o600)
    with pytest.raises(ValueError, match=r"c.json: n_signal must be >= 0"):
        read_config(path)
    path.write_text(json.dumps({"seed": 1, "mass": 3}))
    with pytest.raises(ValueError, match=r"c.json: unknown field\(s\) \['mass'\]"):
        read_config(path)
    path.write_text(json.dumps({"seed": "x"}))
    with pytest.raises(ValueError, match="field 'seed' must be int"):
        read_config(path)
    path.write_text('{"seed": 1, "n_signal": 10, "m_wprime": NaN}')  # Python's json reads NaN
    with pytest.raises(ValueError, match="c.json: field 'm_wprime' must be finite, got nan"):
        read_config(path)
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match="c.json: not valid JSON"):
        read_config(path)
    path.write_text(json.dumps({"n_signal": 10, "preset": "tiny"}))
    # Without a seed the box's data come from a secret one, drawn anew each time.
    assert read_config(path).seed != read_config(path).seed
    with pytest.raises(ValueError, match="must differ"):
        make_black_box(BlackBoxConfig(seed=1, preset="tiny"), tmp_path / "same", tmp_path / "same")
    with pytest.raises(ValueError, match="field 'significance' is required"):
        score_answer({"mass": 3.5, "mass_uncertainty": 0.1}, root / "organiser")
    with pytest.raises(ValueError, match="'mass_uncertainty' is required"):
        score_answer({"significance": 5.0, "mass": 3.5}, root / "organiser")
    np.save(tmp_path / "short.npy", np.zeros(10))
    (tmp_path / "a.json").write_text(json.dumps({"significance": 5.0, "scores": "short.npy"}))
    with pytest.raises(ValueError, match="10 scores for 30600 data rows"):
        score_answer(tmp_path / "a.json", root / "organiser")
    bad_truth = tmp_path / "bad_truth"
    bad_truth.mkdir()
    (bad_truth / "truth.json").write_text(json.dumps({"has_signal": True, "m_wprime": -3.5}))
    with pytest.raises(ValueError, match=r"truth.json: field 'm_wprime' must be > 0 \(TeV\), got -3.5"):
        score_answer({"significance": 5.0}, bad_truth)


def test_black_box_from_the_command_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    runner = CliRunner()
    config = tmp_path / "secret.json"
    config.write_text(json.dumps({"seed": 5, "preset": "tiny", "n_signal": 0}))
    config.chmod(0o600)
    result = runner.invoke(
        app,
        [
            "data",
            "black-box",
            str(config),
            "--public",
            str(tmp_path / "public"),
            "--organiser",
            str(tmp_path / "organiser"),
            "--json",
            str(tmp_path / "box.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "n_signal" not in (tmp_path / "box.json").read_text()  # the truth stays with the organiser
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"significance": 4.5, "mass": 3.5, "mass_uncertainty": 0.1}))
    result = runner.invoke(
        app, ["score", "lhco", str(answer), str(tmp_path / "organiser"), "--json", str(tmp_path / "score.json")]
    )
    assert result.exit_code == 0, result.output
    scored = json.loads((tmp_path / "score.json").read_text())["metrics"]
    assert scored["has_signal"] is False and scored["claimed"] is True and scored["detection_correct"] is False
    result = runner.invoke(app, ["score", "lhco", str(answer)])
    assert result.exit_code == 1 and "truth folder" in result.output
