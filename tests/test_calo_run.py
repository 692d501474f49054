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
            "--epochs",  # what is checked here is the comparison, not the generators' quality
            "3",
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
    # The trained generator is kept beside its showers and samples them again.
    from hepbench.baselines.calo.generative import CaloGenerator

    saved = CaloGenerator.load(tmp_path / "gen" / "calo-gan_ds1-photons.pt")
    np.testing.assert_array_equal(saved.sample(written.incident_energy, seed=0), generated)
    assert record["metrics"]["auc_low"] > 0.5 and record["train_seconds"] > 0
    assert [h["epoch"] for h in record["history"]] == list(range(len(record["history"])))
    json.dumps(record)  # the history is part of the JSON record


def test_run_on_the_first_showers_of_each_split(tmp_path) -> None:
    from hepbench.challenges.calo.dataset import generate_dataset

    generate_dataset("tiny", 3, tmp_path / "data")
    args = ["baseline", "run", "calo", "calo-gan", "--preset", "tiny", "--data", str(tmp_path / "data")]
    args += ["--size", "tiny", "--classifier", "tiny", "--no-progress", "--showers"]
    result = CliRunner().invoke(
        app, [*args, "200", "--json", str(tmp_path / "run.json"), "--out", str(tmp_path / "gen")]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run.json").read_text())
    assert (record["n_train"], record["n_test"]) == (200, 200)
    assert read_showers(tmp_path / "gen" / "calo-gan_ds1-photons.hdf5").showers.shape == (200, 368)
    too_many = CliRunner().invoke(app, [*args, "301"])
    assert too_many.exit_code != 0 and "301 showers asked for, the split holds 300" in too_many.output
    assert "Traceback" not in too_many.output


def test_epochs_caps_the_generators_training(tmp_path) -> None:
    from hepbench.challenges.calo.dataset import generate_dataset

    generate_dataset("tiny", 4, tmp_path / "data")
    args = ["baseline", "run", "calo", "calo-diffusion", "--preset", "tiny", "--data", str(tmp_path / "data")]
    args += ["--size", "tiny", "--classifier", "tiny", "--showers", "200", "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--epochs", "2", "--json", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["max_epochs"] == 2 and len(record["history"]) == 2
    zero = CliRunner().invoke(app, [*args, "--epochs", "0"])
    assert zero.exit_code != 0 and "--epochs" in zero.output and "Traceback" not in zero.output
    other = CliRunner().invoke(app, ["baseline", "run", "lhco", "cwola-hunting", "--preset", "tiny", "--epochs", "2"])
    assert other.exit_code != 0 and "unknown option(s) ['epochs']" in other.output


@pytest.mark.slow
def test_a_stopped_comparison_resumes_inside_its_trainings(tmp_path, stop_training_after) -> None:
    """A calorimeter comparison stopped inside a training continues there with --resume; its
    records equal the uninterrupted comparison's, and no checkpoint is left behind."""
    common = ["baseline", "compare", "calo", "--methods", "calo-gan", "--preset", "tiny", "--size", "tiny"]
    common += ["--classifier", "tiny", "--data", str(tmp_path / "data"), "--scheduler", "serial"]
    common += ["--device", "cpu", "--no-progress"]

    def metrics(path) -> list[dict]:
        return [
            {k: v for k, v in r["metrics"].items() if k not in ("ms_per_shower", "generation_seconds")}
            for r in json.loads(path.read_text())["results"]
        ]

    saves = stop_training_after(None)
    whole = runner.invoke(app, [*common, "--json", str(tmp_path / "whole.json")])
    assert whole.exit_code == 0, whole.output
    epochs_in_all = saves[0]  # one checkpoint per epoch and one per finished training
    assert not (tmp_path / "whole.checkpoints").exists()

    stop_training_after(3)  # inside the generator's training
    with pytest.raises(stop_training_after.error):
        runner.invoke(app, [*common, "--json", str(tmp_path / "cut.json")], catch_exceptions=False)
    kept = tmp_path / "cut.checkpoints" / "ds1-photons" / "calo-gan"
    assert (kept / "identity.json").exists() and list(kept.glob("*.pt"))

    refused = runner.invoke(app, [*common, "--json", str(tmp_path / "cut.json")])
    assert refused.exit_code == 1 and "pass --resume" in " ".join(refused.output.split())
    saves = stop_training_after(None)
    resumed = runner.invoke(app, [*common, "--json", str(tmp_path / "cut.json"), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert saves[0] == epochs_in_all - 3  # continued after the three epochs kept, not from the start
    assert metrics(tmp_path / "cut.json") == metrics(tmp_path / "whole.json")
    assert not (tmp_path / "cut.checkpoints").exists()
