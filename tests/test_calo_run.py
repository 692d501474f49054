"""Calorimeter generators end to end: train on the reference simulation, evaluate, compare."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench.challenges.calo.showers_io import read_showers
from hepbench.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_compare_two_generators_writes_metrics_multiclass_and_markdown(tmp_path) -> None:
    out, markdown = tmp_path / "calo.json", tmp_path / "results.md"
    result = runner.invoke(
        app,
        [
            "baseline",
            "compare",
            "calo",
            "--methods",
            "calo-diffusion,calo-flow-matching",
            "--preset",
            "tiny",
            "--size",
            "tiny",
            "--classifier",
            "tiny",
            "--data",
            str(tmp_path / "data"),
            "--scheduler",
            "local",
            "--workers",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--markdown",
            str(markdown),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    records = payload["results"]
    assert [r["method"] for r in records] == ["calo-diffusion", "calo-flow-matching"]
    for r in records:
        m = r["metrics"]
        assert 0.5 <= m["auc_low"] <= 1.0 and m["separation_power_mean"] >= 0.0 and m["ms_per_shower"] > 0
        assert set(r["timing"]) == {"1", "100", "10000"} and r["n_parameters"] > 1000
    multiclass = payload["multiclass"]["ds1-photons"]
    assert multiclass["names"] == ["calo-diffusion", "calo-flow-matching"]  # no reference class
    assert all(v <= 0 for v in multiclass["log_posterior"].values()) and len(multiclass["matrix"]) == 2
    for r in records:
        assert r["metrics"]["multiclass_log_posterior"] == multiclass["log_posterior"][r["method"]]
    assert (tmp_path / "results" / "calo_multiclass_tiny_ds1-photons.png").stat().st_size > 1000
    text = markdown.read_text()
    assert "<!-- comparison:calo:tiny:ds1-photons:begin -->" in text and "| calo-diffusion |" in text


def test_run_writes_generated_showers_in_the_official_format(tmp_path) -> None:
    from hepbench import challenges
    from hepbench.challenges.calo.dataset import generate_dataset
    from hepbench.challenges.calo.run import run_generator

    generate_dataset("tiny", 2, tmp_path / "data")
    record, generated = run_generator(
        "calo-gan",
        challenges.get("calo").baseline("calo-gan").factory("tiny", "cpu", 0),
        tmp_path / "data",
        "ds1-photons",
        classifier="tiny",
        timing_batches=(1, 10),
        timing_repeats=1,
        out=tmp_path / "gen",
    )
    written = read_showers(tmp_path / "gen" / "calo-gan_ds1-photons.hdf5")
    assert written.showers.shape == generated.shape == (record["n_test"], 368)
    np.testing.assert_allclose(written.showers, generated, rtol=1e-6)
    assert record["metrics"]["auc_low"] > 0.5 and record["train_seconds"] > 0
    assert [h["epoch"] for h in record["history"]] == list(range(len(record["history"])))
    json.dumps(record)  # the history is part of the JSON record
