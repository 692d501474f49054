"""benchmarks/gpu_check.py: the device-against-CPU check that runs wherever an accelerator is lent."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_verdict_uses_the_seed_spread(gpu_check):
    cpu, other = {"metric": 0.80}, {"metric": 0.84}
    assert gpu_check.verdict(cpu, other, {"metric": 0.90}, 3.0, 0.02)["ok"]  # 0.10 <= 3 * 0.04
    assert not gpu_check.verdict(cpu, other, {"metric": 0.93}, 3.0, 0.02)["ok"]
    # Identical CPU seeds: the tolerance is the floor.
    assert not gpu_check.verdict(cpu, cpu, {"metric": 0.83}, 3.0, 0.02)["ok"]


def test_every_family_names_a_registered_baseline(gpu_check):
    from hepbench import challenges

    for family in gpu_check.FAMILIES:
        assert family.method in challenges.get(family.challenge).baselines(), family


def test_unknown_family_and_missing_device_exit_2(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--device", "cpu", "--families", "nope", "--json", str(tmp_path / "x.json")]) == 2
    assert "unknown nope" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert gpu_check.main(["--device", "cuda", "--json", str(tmp_path / "x.json")]) == 2


@pytest.mark.slow
def test_one_family_on_the_cpu_writes_its_verdict(gpu_check, tmp_path):
    out = tmp_path / "check.json"
    assert gpu_check.main(["--device", "cpu", "--families", "lhco-classifier", "--json", str(out)]) == 0
    result = json.loads(out.read_text())["families"]["lhco-classifier"]
    assert result["check"]["ok"] and 0.5 < result["device"]["metric"] <= 1.0
    # The CPU runs are reused from the reference: only the device run is trained again.
    again = tmp_path / "again.json"
    assert (
        gpu_check.main(
            ["--device", "cpu", "--families", "lhco-classifier", "--reference", str(out), "--json", str(again)]
        )
        == 0
    )
    assert json.loads(again.read_text())["families"]["lhco-classifier"]["cpu"] == result["cpu"]


def test_a_failing_family_is_recorded_and_the_others_still_run(gpu_check, tmp_path, monkeypatch, capsys):
    def run_family(family, device, model_seed, data_seed):
        if family.name == "lhco-flow":
            raise RuntimeError("CUDA error: out of memory")
        return {"metric": 0.9, "train_seconds": 1.0, "total_seconds": 1.0, "device": device, "model_seed": model_seed}

    monkeypatch.setattr(gpu_check, "run_family", run_family)
    out = tmp_path / "check.json"
    code = gpu_check.main(["--device", "cpu", "--families", "lhco-flow,lhco-classifier", "--json", str(out)])
    assert code == 1
    families = json.loads(out.read_text())["families"]
    assert families["lhco-flow"] == {"error": "RuntimeError: CUDA error: out of memory"}
    assert families["lhco-classifier"]["check"]["ok"]
    assert "lhco-flow            FAILED: RuntimeError" in capsys.readouterr().out
