"""A fourth challenge from a package of its own, registered through the ``hepbench.challenges``
entry point, end to end: the command line, the bubblewrap sandbox and the leaderboard.

The package (``tests/plugin_challenge``, challenge ``toy-regression``) is built and installed by
pip into a private folder put on ``sys.path`` for this module only, so the environment that
runs the other tests never sees a fourth challenge.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench import challenges
from hepbench.challenges.base import Challenge
from hepbench.challenges.outputs import OutputError
from hepbench.cli.main import app
from hepbench.records import load_records

PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin_challenge"
PLUGIN = "hepbench_toy_challenge"
CHALLENGE = "toy-regression"
NOISE = 0.5
"""Noise on the toy targets: the RMSE of the true function."""

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def toy_plugin(tmp_path_factory):
    """``tests/plugin_challenge`` built and installed by pip (no index, no build isolation: the
    setuptools of this environment builds it offline) into a folder added to ``sys.path``."""
    root = tmp_path_factory.mktemp("toy-plugin")
    source = root / "source"
    shutil.copytree(PLUGIN_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(site),
            str(source),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    challenges.reset()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m == PLUGIN or m.startswith(PLUGIN + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        challenges.reset()


def _cli(args: list[str], exit_code: int = 0) -> dict | list:
    result = runner.invoke(app, args)
    assert result.exit_code == exit_code, result.output
    return json.loads(Path(args[args.index("--json") + 1]).read_text())


def _fails(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    return " ".join(result.output.split())


def _true_predictions(input_dir: Path) -> np.ndarray:
    """The noiseless target of every test row (the best a model can do: RMSE ~ the noise)."""
    from hepbench_toy_challenge.data import true_function

    return true_function(np.load(input_dir / "test_x.npy"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    """Public inputs and the organiser's truth of the tiny preset, seed 0."""
    root = tmp_path_factory.mktemp("toy-inputs")
    challenges.get(CHALLENGE).write_inputs(root / "input", root / "organiser", preset="tiny", seed=0)
    return root / "input", root / "organiser"


# -- registration ---------------------------------------------------------------------------------


def test_the_entry_point_registers_the_challenge(tmp_path) -> None:
    assert challenges.ids()[:3] == ["higgs-uncertainty", "lhco", "calo"] and challenges.ids()[-1] == CHALLENGE
    spec = challenges.get(CHALLENGE)
    assert isinstance(spec, Challenge) and type(spec).__module__ == f"{PLUGIN}.challenge"
    names = sorted(p.name for p in spec.template_dir().iterdir() if p.is_file())
    assert names == ["Dockerfile", "README.md", "entrypoint.py", "model.py"]
    listed = _cli(["challenges", "--json", str(tmp_path / "challenges.json")])
    [toy] = [c for c in listed if c["id"] == CHALLENGE]
    assert toy["presets"] == ["tiny", "small", "full"]
    assert toy["ranking"] == [
        {
            "name": "rmse",
            "higher_is_better": False,
            "label": "RMSE",
            "description": "root-mean-square error on the hidden test targets",
        }
    ]


def test_baseline_list_names_the_plugin_baselines(tmp_path) -> None:
    rows = _cli(["baseline", "list", CHALLENGE, "--json", str(tmp_path / "baselines.json")])
    assert {r["method"] for r in rows} == {"least-squares", "mean"}
    every = _cli(["baseline", "list", "--json", str(tmp_path / "all.json")])
    assert {"least-squares", "mean"} <= {r["method"] for r in every if r["challenge"] == CHALLENGE}


# -- data and baselines ---------------------------------------------------------------------------


def test_generate_then_run_baselines_on_the_written_data(tmp_path) -> None:
    data = tmp_path / "data"
    summary = _cli(
        [
            "data",
            "generate",
            CHALLENGE,
            "--preset",
            "tiny",
            "--seed",
            "3",
            "--out",
            str(data),
            "--scheduler",
            "serial",
            "--json",
            str(tmp_path / "generate.json"),
        ]
    )
    assert summary["files"] == {"train.npz": {"rows": 400, "features": 5}, "test.npz": {"rows": 200, "features": 5}}
    assert challenges.get(CHALLENGE).is_generated(data)

    record = _cli(
        [
            "baseline",
            "run",
            CHALLENGE,
            "least-squares",
            "--preset",
            "tiny",
            "--seed",
            "3",
            "--data",
            str(data),
            "--json",
            str(tmp_path / "lsq.json"),
        ]
    )
    [validated] = load_records(tmp_path / "lsq.json")
    assert validated["method"] == "least-squares" and record["data_seed"] == 3 and record["n_test"] == 200
    metrics = record["metrics"]
    assert NOISE * 0.8 < metrics["rmse"] < NOISE * 1.5 and metrics["r2"] > 0.8
    assert 0 < record["errors"]["rmse"] < 0.1

    mean = _cli(
        [
            "baseline",
            "run",
            CHALLENGE,
            "mean",
            "--preset",
            "tiny",
            "--seed",
            "3",
            "--data",
            str(data),
            "--json",
            str(tmp_path / "mean.json"),
        ]
    )
    assert mean["metrics"]["rmse"] > 2 * metrics["rmse"] and abs(mean["metrics"]["r2"]) < 0.1

    # The same data set again gives the same record (apart from the timing).
    again = _cli(
        [
            "baseline",
            "run",
            CHALLENGE,
            "least-squares",
            "--preset",
            "tiny",
            "--seed",
            "3",
            "--data",
            str(data),
            "--json",
            str(tmp_path / "again.json"),
        ]
    )
    assert again["metrics"] == metrics

    assert "holds preset 'tiny' seed 3, not 'tiny' seed 4" in _fails(
        ["baseline", "run", CHALLENGE, "least-squares", "--preset", "tiny", "--seed", "4", "--data", str(data)]
    )
    assert "unknown baseline 'ridge'" in _fails(["baseline", "run", CHALLENGE, "ridge", "--preset", "tiny"])
    with open(data / "test.npz", "r+b") as handle:  # one altered byte is caught by the checksum
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert "sha256 does not match" in _fails(
        ["baseline", "run", CHALLENGE, "least-squares", "--preset", "tiny", "--seed", "3", "--data", str(data)]
    )


# -- scoring --------------------------------------------------------------------------------------


def test_inputs_hold_no_truth(inputs) -> None:
    input_dir, organiser_dir = inputs
    assert sorted(p.name for p in input_dir.iterdir()) == ["metadata.json", "test_x.npy", "train_x.npy", "train_y.npy"]
    assert np.load(input_dir / "test_x.npy").shape == (200, 5)
    assert organiser_dir.stat().st_mode & 0o777 == 0o700
    with np.load(organiser_dir / "truth.npz") as truth:
        assert truth["y_test"].shape == (200,)


def test_score_cli_against_the_organiser_folder_and_the_truth_file(inputs, tmp_path) -> None:
    input_dir, organiser_dir = inputs
    outputs = tmp_path / "output"
    outputs.mkdir()
    prediction = _true_predictions(input_dir)
    np.save(outputs / "predictions.npy", prediction)
    scored = _cli(
        [
            "score",
            CHALLENGE,
            str(outputs),
            str(organiser_dir),
            "--option",
            "n_bootstrap=50",
            "--json",
            str(tmp_path / "score.json"),
        ]
    )
    with np.load(organiser_dir / "truth.npz") as truth:
        y = truth["y_test"]
    metrics = scored["metrics"]
    assert metrics["rmse"] == pytest.approx(float(np.sqrt(np.mean((prediction - y) ** 2))))
    assert metrics["r2"] == pytest.approx(1 - np.sum((prediction - y) ** 2) / np.sum((y - y.mean()) ** 2))
    assert NOISE * 0.8 < metrics["rmse"] < NOISE * 1.2 and scored["errors"]["rmse"] > 0
    assert scored["method"] == "submission" and scored["n_bootstrap"] == 50
    [record] = load_records(tmp_path / "score.json")
    assert record["challenge"] == CHALLENGE

    # The files themselves score the same.
    same = _cli(
        [
            "score",
            CHALLENGE,
            str(outputs / "predictions.npy"),
            str(organiser_dir / "truth.npz"),
            "--option",
            "n_bootstrap=50",
            "--json",
            str(tmp_path / "same.json"),
        ]
    )
    assert same["metrics"] == metrics and same["errors"] == scored["errors"]
    assert "unknown option(s) ['classifier']" in _fails(
        ["score", CHALLENGE, str(outputs), str(organiser_dir), "--option", "classifier=tiny"]
    )
    assert "needs the organiser's truth folder" in _fails(["score", CHALLENGE, str(outputs)])


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", "predictions.npy: missing; the submission must write /output/predictions.npy"),
        ("short", "predictions.npy: shape (199,), expected (200,) (one prediction per row of test_x.npy)"),
        ("nan", "predictions.npy: 1 non-finite value(s), first nan at index (7,)"),
        ("text", "predictions.npy: dtype <U1 is not numeric"),
        ("pickle", "predictions.npy: dtype object is not numeric"),
    ],
)
def test_invalid_outputs_are_refused_naming_the_file(inputs, tmp_path, kind, message) -> None:
    input_dir, organiser_dir = inputs
    outputs = tmp_path / "output"
    outputs.mkdir()
    prediction = _true_predictions(input_dir)
    if kind == "short":
        np.save(outputs / "predictions.npy", prediction[:-1])
    elif kind == "nan":
        prediction[7] = np.nan
        np.save(outputs / "predictions.npy", prediction)
    elif kind == "text":
        np.save(outputs / "predictions.npy", np.array(["x"] * 200))
    elif kind == "pickle":
        np.save(outputs / "predictions.npy", np.array([{}] * 200, dtype=object), allow_pickle=True)
    spec = challenges.get(CHALLENGE)
    with pytest.raises(OutputError, match="predictions.npy"):
        spec.read_outputs(outputs, organiser_dir)
    assert message in _fails(["score", CHALLENGE, str(outputs), str(organiser_dir)])


# -- the sandbox ----------------------------------------------------------------------------------


def test_round_trip_code_submission_on_bubblewrap(bwrap_backend, sandbox_runs, tmp_path) -> None:
    dest = tmp_path / "submission"
    written = _cli(["submission", "init", CHALLENGE, str(dest), "--json", str(tmp_path / "init.json")])
    assert written["files"] == ["Dockerfile", "README.md", "entrypoint.py", "model.py"]
    checked = _cli(
        [
            "submission",
            "validate",
            CHALLENGE,
            str(dest),
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "validate.json"),
        ]
    )
    assert checked["status"] == "ok" and "score" not in checked
    assert checked["validation"] == {"ok": True, "message": "200 finite predictions, schema valid"}

    scored = _cli(
        [
            "submission",
            "run",
            CHALLENGE,
            str(dest),
            "--backend",
            "bubblewrap",
            "--preset",
            "small",
            "--seed",
            "2",
            "--wall-seconds",
            "120",
            "--memory-mb",
            "1024",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    assert scored["status"] == "ok", (scored["reason"], scored["outcome"].get("log_tail"))
    assert scored["backend"] == "bubblewrap" and scored["payload"]["kind"] == "code"
    assert scored["inputs"] == {"preset": "small", "data_seed": 2, "n_train": 4000, "n_test": 2000}
    score = scored["score"]
    assert score["challenge"] == CHALLENGE and score["n_test"] == 2000 and score["data_seed"] == 2
    # The template's ridge on the features and their squares comes close to the noise.
    assert NOISE * 0.9 < score["metrics"]["rmse"] < NOISE * 1.2 and score["metrics"]["r2"] > 0.85
    assert "wrote 2000 predictions" in scored["outcome"]["log_tail"]
    assert scored["outcome"]["wall_seconds"] > 0
    run_dir = Path(scored["run_dir"])
    assert np.load(run_dir / "output" / "predictions.npy").shape == (2000,)


def test_a_submission_writing_nan_is_reported_not_scored(bwrap_backend, sandbox_runs, tmp_path) -> None:
    dest = tmp_path / "submission"
    _cli(["submission", "init", CHALLENGE, str(dest), "--json", str(tmp_path / "init.json")])
    model = (dest / "model.py").read_text()
    (dest / "model.py").write_text(
        model.replace("return self._design(x) @ self.coef_", "return np.full(len(x), np.nan)")
    )
    failed = _cli(
        [
            "submission",
            "run",
            CHALLENGE,
            str(dest),
            "--wall-seconds",
            "120",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "run.json"),
        ],
        exit_code=1,
    )
    assert failed["status"] == "invalid-output" and "score" not in failed
    assert failed["reason"].startswith("predictions.npy: 200 non-finite value(s), first nan at index (0,)")


# -- the leaderboard ------------------------------------------------------------------------------


def _store_options(store) -> list[str]:
    return ["--home", str(store.home), "--db", store.engine.url.render_as_string(hide_password=False)]


def test_leaderboard_scores_and_ranks_by_rmse(store, inputs, tmp_path) -> None:
    input_dir, organiser_dir = inputs
    at = _store_options(store)

    # A baseline run record, scored as the host that ran it reported.
    record = _cli(
        [
            "baseline",
            "run",
            CHALLENGE,
            "least-squares",
            "--preset",
            "tiny",
            "--seed",
            "0",
            "--data",
            str(tmp_path / "data"),
            "--json",
            str(tmp_path / "lsq.json"),
        ]
    )
    result = runner.invoke(app, ["leaderboard", "add-results", str(tmp_path / "lsq.json"), *at])
    assert result.exit_code == 0, result.output

    # The organiser gives the public phase its hidden truth; participants send predictions.
    result = runner.invoke(app, ["leaderboard", "phase", CHALLENGE, "public", "--truth", str(organiser_dir), *at])
    assert result.exit_code == 0, result.output
    with np.load(organiser_dir / "truth.npz") as truth:
        y = truth["y_test"]
    payloads = {
        "alice": _true_predictions(input_dir),
        "bob": np.full(len(y), float(np.mean(y)) + 0.5),
        "carol": _true_predictions(input_dir)[:-1],
    }
    for participant, prediction in payloads.items():
        path = tmp_path / participant / "predictions.npy"
        path.parent.mkdir()
        np.save(path, prediction)
        result = runner.invoke(
            app,
            [
                "leaderboard",
                "submit",
                CHALLENGE,
                str(path),
                "--participant",
                participant,
                "--method",
                f"{participant}'s model",
                *at,
            ],
        )
        assert result.exit_code == 0 and "queued" in result.output, result.output
    not_npy = tmp_path / "answers.json"
    not_npy.write_text("[1, 2, 3]")
    refused = runner.invoke(
        app, ["leaderboard", "submit", CHALLENGE, str(not_npy), "--participant", "dave", "--method", "wrong file", *at]
    )
    assert refused.exit_code == 1 and "answers.json: not a numpy .npy file" in refused.output, refused.output
    result = runner.invoke(app, ["leaderboard", "work", *at])
    assert result.exit_code == 0 and "scored 2" in result.output and "failed 1" in result.output, result.output

    board = _cli(["leaderboard", "show", CHALLENGE, *at, "--json", str(tmp_path / "board.json")])
    assert board["ranking"] == [{"name": "rmse", "higher_is_better": False}]
    ranked = [(e["rank"], e["participant"], e["baseline"]) for e in board["entries"]]
    assert ranked == [(1, "alice", False), (2, "hepbench baselines", True), (3, "bob", False)]
    entries = {e["participant"]: e for e in board["entries"]}
    assert entries["hepbench baselines"]["metrics"]["rmse"]["value"] == pytest.approx(record["metrics"]["rmse"])
    alice = entries["alice"]["metrics"]
    assert alice["rmse"]["value"] == pytest.approx(float(np.sqrt(np.mean((payloads["alice"] - y) ** 2))))
    assert alice["rmse"]["error"] > 0 and alice["r2"]["value"] > 0.8 and alice["mae"]["value"] > 0
    assert list(alice) == ["rmse", "r2", "mae"]
    bob = entries["bob"]["metrics"]
    assert bob["rmse"]["value"] == pytest.approx(float(np.sqrt(np.mean((payloads["bob"] - y) ** 2))))
    assert bob["r2"]["value"] < 0
    [carol] = board["pending"]
    assert carol["participant"] == "carol" and carol["state"] == "failed"
    assert "shape (199,), expected (200,)" in carol["reason"]

    shown = runner.invoke(app, ["leaderboard", "show", CHALLENGE, *at])
    assert shown.exit_code == 0 and "rmse" in shown.output and f"{alice['rmse']['value']:.3f}" in shown.output


def test_baseline_records_are_scored_in_a_phase_with_truth(inputs, tmp_path) -> None:
    _, organiser_dir = inputs
    at = ["--home", str(tmp_path / "lb")]
    _cli(
        [
            "baseline",
            "run",
            CHALLENGE,
            "least-squares",
            "--preset",
            "tiny",
            "--seed",
            "0",
            "--data",
            str(tmp_path / "data"),
            "--json",
            str(tmp_path / "lsq.json"),
        ]
    )
    assert runner.invoke(app, ["leaderboard", "init", *at]).exit_code == 0
    result = runner.invoke(app, ["leaderboard", "phase", CHALLENGE, "public", "--truth", str(organiser_dir), *at])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["leaderboard", "add-results", str(tmp_path / "lsq.json"), *at])
    assert result.exit_code == 0, result.output
    board = _cli(["leaderboard", "show", CHALLENGE, *at, "--json", str(tmp_path / "board.json")])
    assert [e["method"] for e in board["entries"]] == ["least-squares"], [e["reason"] for e in board["pending"]]
