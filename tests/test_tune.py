"""``hepbench baseline tune``: declared search spaces, validation objectives that never read the
test data, the GP search on Dask workers, and its best configuration reused by ``baseline run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hepbench import challenges
from hepbench.baselines.base import Param, with_overrides
from hepbench.baselines.tuning import best_so_far, read_config

ROOT = Path(__file__).resolve().parents[1]


def hepbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "hepbench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_every_challenge_declares_a_tunable_baseline_with_an_objective() -> None:
    for spec in challenges.all()[:3]:
        assert spec.tune_objective is not None, spec.id
        tunable = [b for b in spec.baselines().values() if b.search_space]
        assert tunable, spec.id
        for baseline in tunable:
            for name, param in baseline.search_space.items():
                # Every declared range is searchable (low < high, log ranges positive).
                assert param.kind in ("float", "int", "categorical"), (baseline.name, name)


def test_check_params_names_unknown_and_out_of_range_values() -> None:
    baseline = challenges.get("lhco").baseline("supervised")
    assert baseline.check_params({"learning_rate": 1e-3, "depth": 2.0}) == {"learning_rate": 1e-3, "depth": 2}
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['dropout'\]"):
        baseline.check_params({"dropout": 0.1})
    with pytest.raises(ValueError, match="outside the search range"):
        baseline.check_params({"learning_rate": 1.0})
    with pytest.raises(ValueError, match="not one of"):
        baseline.check_params({"batch_size": 100})
    with pytest.raises(ValueError, match="declares no tunable"):
        challenges.get("lhco").baseline("anode").check_params({"width": 64})
    with pytest.raises(ValueError, match="low > 0"):
        Param("float", 0.0, 1.0, log=True)


def test_overrides_reshape_hidden_layers_and_reach_the_estimator() -> None:
    assert with_overrides({"hidden": (64, 64, 64), "epochs": 3}, {"width": 32}) == {"hidden": (32, 32, 32), "epochs": 3}
    assert with_overrides({"hidden": (64, 64, 64)}, {"depth": 1, "epochs": 5}) == {"hidden": (64,), "epochs": 5}
    detector = challenges.get("lhco").baseline("cwola-hunting").factory("tiny", "cpu", 0, width=20, depth=2)
    assert detector.classifier.hidden == (20, 20)
    estimator = (
        challenges.get("higgs-uncertainty")
        .baseline("bdt-template-fit")
        .factory("tiny", "cpu", 0, max_depth=3, n_bins=7)
    )
    assert (estimator.classifier.max_depth, estimator.inference.n_bins) == (3, 7)
    generator = challenges.get("calo").baseline("calo-flow-matching").factory("tiny", "cpu", 0, n_steps=5, width=32)
    assert (generator.n_steps, generator.hidden) == (5, (32, 32))


def test_best_so_far_skips_failed_trials() -> None:
    assert best_so_far([1.0, None, 0.5, 2.0], higher_is_better=True) == [1.0, 1.0, 1.0, 2.0]
    assert best_so_far([None, 3.0, 4.0, 1.0], higher_is_better=False) == [None, 3.0, 3.0, 1.0]


@pytest.mark.slow
def test_higgs_objective_reads_no_test_data(tmp_path, higgs_tiny_dir) -> None:
    import shutil

    data = shutil.copytree(higgs_tiny_dir, tmp_path / "data")  # the session's tiny preset, seed 5
    (data / "test.parquet").write_bytes(b"not the test set")  # reading it would fail
    metrics = challenges.get("higgs-uncertainty").validation_objective(
        "bdt-template-fit",
        {"n_estimators": 50, "n_bins": 6},
        preset="tiny",
        seed=5,
        data_dir=data,
        size="tiny",
        device="cpu",
        n_sets=1,
        n_pseudo_experiments=3,
    )
    assert set(metrics) >= {"coverage_score", "width", "coverage"}
    assert metrics["n_failed"] == 0 and metrics["width"] > 0


@pytest.mark.slow
def test_calo_objective_reads_no_test_data(tmp_path) -> None:
    spec = challenges.get("calo")
    spec.ensure_data("tiny", 2, tmp_path)
    (tmp_path / "ds1-photons_test.hdf5").write_bytes(b"not the test set")
    metrics = spec.validation_objective(
        "calo-flow-matching", {"width": 64}, preset="tiny", seed=2, data_dir=tmp_path, size="tiny", classifier="tiny"
    )
    assert 0.0 <= metrics["auc_low"] <= 1.0


@pytest.mark.slow
def test_tune_cli_on_dask_workers_then_run_with_the_config(tmp_path) -> None:
    """The whole chain at a tiny budget: data, three GP-sampler trials on two Dask workers, the
    saved search and best configuration, and ``baseline run --config`` training with it."""
    spec = challenges.get("lhco")
    data = tmp_path / "data"
    spec.ensure_data("tiny", 4, data)
    for hidden in ("test.parquet", "data_truth.parquet"):  # the objective must not need them
        (data / hidden).rename(tmp_path / hidden)
    out = tmp_path / "search"
    result = hepbench(
        "baseline", "tune", "lhco", "supervised", "--preset", "tiny", "--seed", "4", "--data", str(data),
        "--trials", "3", "--workers", "2", "--out", str(out), "--device", "cpu", "--no-progress",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    search = json.loads((out / "search.json").read_text())
    assert [t["number"] for t in search["trials"]] == [0, 1, 2]
    assert search["sampler"]["name"] == "optuna.samplers.GPSampler"
    assert search["default"]["params"] == {} and search["default"]["value"] is not None
    space = spec.baseline("supervised").search_space
    for trial in search["trials"]:
        assert trial["state"] == "complete", trial
        assert set(trial["params"]) == set(space)
        spec.baseline("supervised").check_params(trial["params"])
    values = [t["value"] for t in search["trials"]]
    assert search["best"]["value"] == max(values)
    assert (out / "convergence.png").stat().st_size > 1000
    size, params = read_config(out / "best_config.json", "lhco", "supervised")
    assert (size, params) == ("tiny", search["best"]["params"])
    with pytest.raises(ValueError, match="field method is 'supervised', not 'cwola-hunting'"):
        read_config(out / "best_config.json", "lhco", "cwola-hunting")

    for hidden in ("test.parquet", "data_truth.parquet"):
        (tmp_path / hidden).rename(data / hidden)
    record_path = tmp_path / "run.json"
    result = hepbench(
        "baseline", "run", "lhco", "supervised", "--preset", "tiny", "--seed", "4", "--data", str(data),
        "--config", str(out / "best_config.json"), "--json", str(record_path), "--device", "cpu", "--no-progress",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(record_path.read_text())
    assert record["params"] == search["best"]["params"] and record["size"] == "tiny"


def test_tune_refuses_a_baseline_without_search_space(tmp_path) -> None:
    result = hepbench("baseline", "tune", "lhco", "anode", "--preset", "tiny", "--trials", "2", cwd=tmp_path)
    assert result.returncode == 1
    assert "declares no search space" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
