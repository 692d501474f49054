"""LHCO detectors end to end: fit, score the hidden truth, bump hunt, compare over seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench import challenges, reference_data
from hepbench.challenges.lhco.dataset import generate_dataset
from hepbench.challenges.lhco.generator import GENERATOR_VERSION
from hepbench.challenges.lhco.run import BUMP_HUNT_FRACTIONS, run_detector
from hepbench.challenges.lhco.schema import LABEL, SIGNAL_REGION
from hepbench.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny():
    return generate_dataset("tiny", 3)


def test_supervised_detector_scores_the_hidden_truth(tiny) -> None:
    bump = generate_dataset("tiny", 1003).inputs.data
    record = run_detector(
        "supervised",
        challenges.get("lhco").baseline("supervised").factory("tiny", "cpu", 0),
        tiny,
        device="cpu",
        bump_data=bump,
    )
    m = record["metrics"]
    assert m["auc"] > 0.85 and m["max_sic"] > 2.0
    assert m["rejection_at_eps_s_0.2"] > m["rejection_at_eps_s_0.5"] > 1.0
    assert [h["keep_fraction"] for h in record["bump_hunt"]] == list(BUMP_HUNT_FRACTIONS)
    assert m["bump_hunt_z_max"] == max(h["z"] for h in record["bump_hunt"])
    assert 0.002 < record["s_over_b_signal_region"] < 0.02
    curve = record["sic_curve"]
    assert len(curve["eps_s"]) == len(curve["sic"]) and np.all(np.diff(curve["eps_s"]) >= 0)


class Broken:
    def fit(self, inputs):
        return self

    def predict(self, events):
        score = np.zeros(len(events))
        score[3] = np.nan
        return score


def test_nan_scores_are_refused_with_the_sample_named(tiny) -> None:
    with pytest.raises(ValueError, match="test set: the detector returned 1 non-finite score"):
        run_detector("broken", Broken(), tiny, device="cpu")


@pytest.mark.slow
def test_compare_over_seeds_on_local_cluster_writes_table_plot_and_json(tmp_path) -> None:
    out, markdown = tmp_path / "lhco.json", tmp_path / "results.md"
    markdown.write_text("# Results\n\nhand-written text\n")
    result = runner.invoke(
        app,
        [
            "baseline",
            "compare",
            "lhco",
            "--methods",
            "supervised,autoencoder",
            "--preset",
            "tiny",
            "--size",
            "tiny",
            "--data",
            str(tmp_path / "data"),
            "--model-seed",
            "0",
            "--model-seed",
            "1",
            "--min-background",
            "30",
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
    assert [(r["method"], r["model_seed"]) for r in payload["results"]] == [
        ("supervised", 0),
        ("supervised", 1),
        ("autoencoder", 0),
        ("autoencoder", 1),
    ]
    summary = {row["method"]: row for row in payload["summary"]}
    assert (
        summary["supervised"]["max_sic_p16"]
        <= summary["supervised"]["max_sic_median"]
        <= summary["supervised"]["max_sic_p84"]
    )
    assert summary["supervised"]["auc_median"] > summary["autoencoder"]["auc_median"]
    text = markdown.read_text()
    assert "hand-written text" in text and "<!-- comparison:lhco:generated-tiny:begin -->" in text
    assert "max SIC over cuts keeping at least 30 background events of the test set" in text
    assert {r["metrics"]["min_background"] for r in payload["results"]} == {30.0}
    assert all(r["metrics"]["n_background_at_max_sic"] >= 30 for r in payload["results"])
    assert "| supervised | 2 |" in text and (tmp_path / "results" / "lhco_sic_generated-tiny.png").stat().st_size > 1000
    assert {r["generator_version"] for r in payload["results"]} == {GENERATOR_VERSION}
    # each (method, seed) kept its trainings' per-epoch state beside the JSON until its record was written
    assert not (tmp_path / "lhco.checkpoints").exists()

    # Resumed with a third seed: the four finished (method, seed) pairs are kept, two run.
    common = ["baseline", "compare", "lhco", "--preset", "tiny", "--size", "tiny", "--data", str(tmp_path / "data")]
    common += ["--device", "cpu", "--scheduler", "serial", "--no-progress"]
    seeds = ["--model-seed", "0", "--model-seed", "1", "--model-seed", "2"]
    result = runner.invoke(
        app,
        [
            *common,
            "--methods",
            "supervised,autoencoder",
            *seeds,
            "--min-background",
            "30",
            "--json",
            str(out),
            "--resume",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "kept 4 results" in result.output
    assert "supervised (seed 0): fitting" not in result.output and "supervised (seed 2): fitting" in result.output
    resumed = json.loads(out.read_text())["results"]
    assert [(r["method"], r["model_seed"]) for r in resumed] == [
        (m, s) for m in ("supervised", "autoencoder") for s in (0, 1, 2)
    ]
    before = {(r["method"], r["model_seed"]): r["train_seconds"] for r in payload["results"]}
    assert all(before[k] == r["train_seconds"] for r in resumed if (k := (r["method"], r["model_seed"])) in before)

    # Resumed for one method: the other method's results on the same data stay in the file and table.
    result = runner.invoke(
        app,
        [*common, "--methods", "supervised", *seeds, "--min-background", "30", "--json", str(out), "--resume"]
        + ["--markdown", str(markdown)],
    )
    assert result.exit_code == 0, result.output
    assert "kept 3 results" in result.output and "carried over 3 results" in result.output
    assert "fitting" not in result.output
    assert json.loads(out.read_text())["results"] == resumed
    assert "| autoencoder | 3 |" in markdown.read_text()

    # Another max-SIC floor is another measurement: nothing is kept.
    result = runner.invoke(
        app,
        [
            *common,
            "--model-seed",
            "0",
            "--methods",
            "supervised",
            "--min-background",
            "40",
            "--json",
            str(out),
            "--resume",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "kept" not in result.output and "supervised (seed 0): fitting" in result.output

    # The correlated-feature variant: its own section and plot, and never resumed from nominal data.
    correlated = tmp_path / "correlated"
    made = runner.invoke(
        app,
        [
            "data",
            "generate",
            "lhco",
            "--preset",
            "tiny",
            "--correlated",
            "--out",
            str(correlated),
            "--scheduler",
            "serial",
        ],
    )
    assert made.exit_code == 0, made.output
    common[common.index("--data") + 1] = str(correlated)
    result = runner.invoke(
        app,
        [*common, "--model-seed", "0", "--methods", "supervised", "--min-background", "30", "--json", str(out)]
        + ["--resume", "--markdown", str(markdown)],
    )
    assert result.exit_code == 0, result.output
    assert "kept" not in result.output
    assert json.loads(out.read_text())["results"][0]["correlated"] is True
    text = markdown.read_text()
    assert "<!-- comparison:lhco:generated-tiny-correlated:begin -->" in text and "correlated-feature variant" in text
    assert "<!-- comparison:lhco:generated-tiny:begin -->" in text  # the nominal section stays
    assert (tmp_path / "results" / "lhco_sic_generated-tiny-correlated.png").exists()


def test_real_subset_benchmark_injects_the_anchor_s_over_b() -> None:
    from hepbench.challenges.lhco.real_benchmark import real_subset_dataset
    from hepbench.challenges.lhco.real_data import load_highlevel_subset

    subset = load_highlevel_subset(reference_data.path("lhco-highlevel-subset"))
    dataset = real_subset_dataset(subset, seed=0, s_over_b=0.3)
    sr = dataset.inputs.data["mjj"].between(*SIGNAL_REGION, inclusive="neither")
    truth = dataset.data_truth[sr]
    assert truth.sum() / (len(truth) - truth.sum()) == pytest.approx(0.3, rel=0.15)
    assert dataset.test["mjj"].between(*SIGNAL_REGION, inclusive="neither").all()
    assert set(dataset.test[LABEL]) == {0, 1} and set(dataset.inputs.labelled[LABEL]) == {0, 1}
    assert LABEL not in dataset.inputs.data and LABEL not in dataset.inputs.background_reference
    assert real_subset_dataset(subset, seed=0, s_over_b=0.3).inputs.data.equals(dataset.inputs.data)


def test_run_over_seeds_with_a_checkpoint_leaves_no_folder(tmp_path) -> None:
    """Each training seed keeps its trainings' per-epoch state in its own subfolder until its
    record is made; nothing is left once every seed finished."""
    result = runner.invoke(
        app,
        ["baseline", "run", "lhco", "supervised", "--preset", "tiny", "--size", "tiny"]
        + ["--data", str(tmp_path / "data"), "--model-seed", "0", "--model-seed", "1", "--scheduler", "serial"]
        + [
            "--device",
            "cpu",
            "--no-progress",
            "--checkpoint",
            str(tmp_path / "ckpt"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [r["model_seed"] for r in json.loads((tmp_path / "r.json").read_text())["results"]] == [0, 1]
    assert not (tmp_path / "ckpt").exists()
