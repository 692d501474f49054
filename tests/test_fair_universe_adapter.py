"""FAIR Universe starting-kit models run unchanged: the kit's ``get_train_set``, ``systematics``
and test sets from hepbench's inputs, and a kit-interface model scored in the sandbox."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty import fair_universe
from hepbench.challenges.higgs_uncertainty.schema import FEATURES
from hepbench.cli.main import app
from hepbench.submission_kit.runner import template_dir

KIT_MODEL = Path(__file__).parent / "fair_universe_model"
KIT_SYSTEMATICS_PARAMETERS = [
    "data_set",
    "tes",
    "jes",
    "soft_met",
    "seed",
    "ttbar_scale",
    "diboson_scale",
    "bkg_scale",
    "dopostprocess",
]
"""The parameters of the kit's ``ingestion_program/systematics.py:systematics``, in order."""


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_systematics_function_has_the_kits_signature() -> None:
    assert list(inspect.signature(fair_universe.systematics).parameters) == KIT_SYSTEMATICS_PARAMETERS


def test_the_entrypoint_picks_the_adapter_from_the_model_signature() -> None:
    entrypoint = _load(template_dir("higgs-uncertainty") / "entrypoint.py", "higgs_entrypoint")
    kit_model = _load(KIT_MODEL / "model.py", "kit_model").Model
    template_model = _load(template_dir("higgs-uncertainty") / "model.py", "template_model").Model
    assert entrypoint.interface(kit_model) == "fair-universe" and fair_universe.uses_kit_interface(kit_model)
    assert entrypoint.interface(template_model) == "hepbench" and not fair_universe.uses_kit_interface(template_model)
    assert set(entrypoint.ADAPTERS) == {"hepbench", "fair-universe"}


def test_train_set_subsamples_keep_the_expected_events(fair_sample: pd.DataFrame) -> None:
    loader = fair_universe.TrainSetLoader(fair_sample)
    total = fair_sample["weights"].sum()
    full = loader()
    assert len(full) == 1000 and np.isclose(full["weights"].sum(), total)
    half = loader(train_size=0.5)
    assert len(half) == 500 and np.isclose(half["weights"].sum(), total)
    counted = loader(train_size=300)
    assert len(counted) == 300 and list(counted.index) == list(range(300))
    picked = loader(selected_indices=[5, 1, 7])
    assert picked["PRI_lep_pt"].tolist() == fair_sample["PRI_lep_pt"].iloc[[1, 5, 7]].tolist()
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        loader(train_size=1.5)
    with pytest.raises(ValueError, match="must lie in"):
        loader(selected_indices=[1000])


def test_systematics_takes_and_returns_the_kits_forms(fair_sample: pd.DataFrame) -> None:
    frame = fair_universe.systematics(fair_sample, tes=1.03, jes=0.97)
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == list(range(len(frame)))
    assert 0 < len(frame) <= len(fair_sample)
    kept = fair_universe.systematics(fair_sample, tes=0.9, dopostprocess=False)
    assert len(kept) == len(fair_sample)
    assert np.allclose(kept["PRI_had_pt"], (fair_sample["PRI_had_pt"] * 0.9).round(3), atol=1e-3)

    features = fair_sample[list(FEATURES)]
    as_dict = fair_universe.systematics({"data": features, "weights": np.ones(len(features))}, soft_met=1.0)
    assert set(as_dict) == {"data", "weights"} and list(as_dict["data"].columns) == list(FEATURES)
    assert len(as_dict["weights"]) == len(as_dict["data"])
    with pytest.raises(ValueError, match="'weights' key"):
        fair_universe.systematics({"data": features})


def test_background_scale_factors_scale_background_weights(fair_sample: pd.DataFrame) -> None:
    nominal = fair_universe.systematics(fair_sample, dopostprocess=False)
    scaled = fair_universe.systematics(fair_sample, ttbar_scale=1.2, bkg_scale=1.01, dopostprocess=False)
    ratio = (scaled["weights"] / nominal["weights"]).to_numpy()
    process = nominal["detailed_labels"].to_numpy()
    assert np.allclose(ratio[process == "ttbar"], 1.2 * 1.01)
    assert np.allclose(ratio[process == "ztautau"], 1.01)
    assert np.allclose(ratio[process == "htautau"], 1.0)


def test_test_sets_are_the_kits_dicts() -> None:
    test_set = fair_universe.test_set(np.zeros((4, len(FEATURES)), np.float32), list(FEATURES))
    assert list(test_set["data"].columns) == list(FEATURES) and test_set["weights"].tolist() == [1.0] * 4


@pytest.mark.slow
def test_a_kit_interface_model_runs_unchanged_under_bubblewrap(bwrap_backend, sandbox_runs, tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "submission",
            "run",
            "higgs-uncertainty",
            str(KIT_MODEL),
            "--backend",
            "bubblewrap",
            "--sets",
            "2",
            "--pseudo-experiments",
            "2",
            "--wall-seconds",
            "300",
            "--memory-mb",
            "3072",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "run.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "ok", (record["reason"], record["outcome"]["log_tail"])
    assert record["outcome"]["log_tail"].startswith("model interface: fair-universe")
    metrics = record["score"]["metrics"]
    assert metrics["n_pseudo_experiments"] == 4 and metrics["n_failed"] == 0
    answers = json.loads((Path(record["run_dir"]) / "output" / "answers.json").read_text())["answers"]
    assert all(a["p16"] < a["mu_hat"] < a["p84"] for a in answers)
