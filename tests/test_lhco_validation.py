"""The LHCO generator against the real R&D high-level features, and the CLI commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hepbench import challenges, reference_data
from hepbench.challenges.lhco.generator import generate_events
from hepbench.challenges.lhco.real_data import load_highlevel_subset
from hepbench.challenges.lhco.validation import correlation_table, distance_table, validate_lhco
from hepbench.cli.main import app

SUBSET = reference_data.path("lhco-highlevel-subset")


@pytest.fixture(scope="module")
def real():
    return load_highlevel_subset(SUBSET)


def test_generator_is_close_to_the_real_features(real, tmp_path) -> None:
    generated = generate_events(60_000, 20_000, seed=2)
    table, two_sample = validate_lhco(generated, real, tmp_path)
    assert set(table["class"]) == {"background", "signal"}
    # The classifier two-sample test sees every feature at once: between chance and perfect.
    assert set(two_sample["class"]) == {"background", "signal"}
    assert ((two_sample["auc"] > 0.45) & (two_sample["auc"] < 0.9)).all(), two_sample
    assert len(table) == 16
    # Every feature within 0.2 standard deviations (Wasserstein) and KS below 0.2.
    assert (table["w1_std"] < 0.2).all(), table
    assert (table["ks"] < 0.2).all(), table
    correlations = correlation_table(generated, real).set_index(["class", "pair"])
    # Background rank correlations within 0.15 of the real ones (the mass-mjj ones decide
    # whether a method sculpts the background); the signal's jet masses rise with mjj.
    background = correlations.loc["background"]
    assert ((background["spearman_gen"] - background["spearman_real"]).abs() < 0.15).all(), correlations
    for pair in ("mj1 : mjj", "mj2 : mjj"):
        assert correlations.loc[("signal", pair), "spearman_gen"] > 0.1
    for name in (
        "distances.csv",
        "distances.md",
        "two_sample.md",
        "correlations.md",
        "histograms_background.png",
        "histograms_signal.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
    # The correlations that matter for anomaly detection: tau21 falls with jet mass in both.
    for frame in (generated[generated["label"] == 0], real[(real["label"] == 0) & real["tau_valid_j2"]]):
        assert frame["mj2"].corr(frame["tau21_j2"], method="spearman") < -0.3


def test_distance_table_sees_a_shift(real) -> None:
    generated = generate_events(30_000, 0, seed=3)
    shifted = generated.assign(mj1=generated["mj1"] * 1.5)
    before = distance_table(generated, real).set_index("feature").loc["mj1", "w1_std"]
    after = distance_table(shifted, real).set_index("feature").loc["mj1", "w1_std"]
    assert after > before + 0.3


def test_challenge_is_registered() -> None:
    lhco = challenges.get("lhco")
    assert [m.name for m in lhco.ranking] == ["max_sic", "auc"]
    assert all(m.higher_is_better for m in lhco.ranking)


def test_cli_generate_and_validate(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "tiny"
    result = runner.invoke(
        app,
        [
            "data",
            "generate",
            "lhco",
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--scheduler",
            "serial",
            "--out",
            str(out),
            "--json",
            str(tmp_path / "g.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "g.json").read_text())
    assert summary["files"]["data"] == {"background": 30_000, "signal": 30}
    assert (out / "data_truth.parquet").exists()
    result = runner.invoke(
        app,
        [
            "data",
            "validate",
            "lhco",
            "--real",
            str(SUBSET),
            "--events-per-process",
            "20000",
            "--out",
            str(tmp_path / "val"),
            "--json",
            str(tmp_path / "v.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    validation = json.loads((tmp_path / "v.json").read_text())
    assert {r["feature"] for r in validation["distances"]} >= {"mjj", "mj1", "delta_m", "tau21_j1", "tau21_j2"}
    assert {r["class"] for r in validation["two_sample"]} == {"background", "signal"}
    assert "two-sample" in result.output


def test_validate_refuses_a_real_path_that_does_not_exist(tmp_path) -> None:
    missing = tmp_path / "no-such-subset"
    result = CliRunner().invoke(
        app, ["data", "validate", "lhco", "--real", str(missing), "--events-per-process", "100"]
    )
    assert result.exit_code == 1 and "no-such-subset: no such R&D file" in " ".join(result.output.split())
    assert "Traceback" not in result.output
