"""The max-SIC floor in test-set background events through the scorer, the CLI, the comparison
table and the SIC plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench.challenges.lhco.comparison import _sic_above_floor, comparison_markdown
from hepbench.challenges.lhco.submission import OUTPUTS, TRUTH_FILE
from hepbench.cli.main import app

runner = CliRunner()


@pytest.fixture
def submission(tmp_path):
    """An organiser folder and outputs whose best cut rests on 2 of 1,000 background events:
    40 of 100 signal events score just below the two highest background events."""
    labels = np.r_[np.zeros(1000), np.ones(100)].astype(np.int8)
    scores = np.r_[np.arange(1000.0), np.full(40, 997.5), np.full(60, 0.5)]
    rng = np.random.default_rng(5)
    mjj = 2.5 + rng.exponential(0.4, 5000)  # a falling spectrum for the bump hunt
    organiser, outputs = tmp_path / "organiser", tmp_path / "outputs"
    organiser.mkdir()
    outputs.mkdir()
    np.savez(organiser / TRUTH_FILE, test_labels=labels, bump_hunt_mjj=mjj)
    (organiser / "inputs.json").write_text(json.dumps({"preset": "tiny", "signal_region": [3.3, 3.7]}))
    np.save(outputs / OUTPUTS["test"], scores)
    np.save(outputs / OUTPUTS["bump_hunt"], rng.random(len(mjj)))
    return outputs, organiser


def score(submission, tmp_path, *options: str) -> dict:
    out = tmp_path / "score.json"
    result = runner.invoke(app, ["score", "lhco", *map(str, submission), *options, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "min_background" in result.output  # the floor is printed with the value
    return json.loads(out.read_text())["metrics"]


def test_score_option_sets_the_floor(submission, tmp_path) -> None:
    default = score(submission, tmp_path)
    assert default["min_background"] == 25 and default["n_background_at_max_sic"] == 25
    assert default["max_sic"] == pytest.approx(0.4 / np.sqrt(0.025))
    loose = score(submission, tmp_path, "-o", "min_background=2")
    assert loose["n_background_at_max_sic"] == 2
    assert loose["max_sic"] == pytest.approx(0.4 / np.sqrt(0.002))
    assert loose["auc"] == default["auc"]  # AUC and rejections do not depend on the floor
    assert loose["rejection_at_eps_s_0.2"] == default["rejection_at_eps_s_0.2"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("min_background=many", "min_background must be a number of events"),
        ("min_background=0", "min_background must be a positive number"),
        ("min_background=2000", "holds 1000 background events, fewer than min_background=2000"),
    ],
)
def test_bad_floor_is_one_line(submission, option, message) -> None:
    result = runner.invoke(app, ["score", "lhco", *map(str, submission), "-o", option])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def record(model_seed: int, floor: float, sic: list[float], eps_b: list[float]) -> dict:
    return {
        "method": "supervised",
        "model_seed": model_seed,
        "preset": "tiny",
        "data_seed": 7,
        "n_signal_injected": 30,
        "s_over_b_signal_region": 0.005,
        "n_test": {"signal": 100, "background": 1000},
        "train_seconds": 1.0,
        "metrics": {
            "max_sic": max(sic),
            "auc": 0.9,
            "rejection_at_eps_s_0.2": 10.0,
            "rejection_at_eps_s_0.5": 5.0,
            "min_background": floor,
        },
        "sic_curve": {"eps_s": [0.1, 0.5, 1.0], "eps_b": eps_b, "sic": sic},
    }


def test_table_prints_the_floor_and_refuses_mixed_floors() -> None:
    records = [record(s, 25.0, [3.0, 2.0, 1.0], [0.001, 0.0625, 1.0]) for s in (4, 5)]
    text = comparison_markdown(records, name="x", title="t", command="c", machine="m", date="d")
    assert "at least 25 background events of the test set" in text and "Training seeds 4, 5." in text
    with pytest.raises(ValueError, match="different max-SIC floors"):
        comparison_markdown(
            [records[0], record(6, 10.0, [1.0] * 3, [0.1, 0.5, 1])],
            name="x",
            title="t",
            command="c",
            machine="m",
            date="d",
        )


def test_sic_curve_is_drawn_only_where_the_floor_holds() -> None:
    # eps_B 0.001 of 1,000 events is 1 event (below 25), 0.025 is exactly 25 (kept).
    sic = _sic_above_floor(record(0, 25.0, [3.0, 2.0, 1.0], [0.001, 0.025, 1.0]))
    assert np.isnan(sic[0]) and sic[1:].tolist() == [2.0, 1.0]
