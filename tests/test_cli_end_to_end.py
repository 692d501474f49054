"""From the command line: generate data, run the baseline, score its answers again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty.presets import PRESETS
from hepbench.cli.main import app
from hepbench.datafiles import read_sidecar

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    result = runner.invoke(
        app, ["data", "generate", "higgs-uncertainty", "--preset", "tiny", "--seed", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_generated_files_carry_metadata(data_dir) -> None:
    meta = read_sidecar(data_dir / "train.parquet")
    assert meta["generator_version"] and meta["preset"] == "tiny" and meta["seed"] == 2
    assert len(meta["sha256"]) == 64
    assert meta["events_per_process"]["ztautau"] == PRESETS["tiny"].train_events["ztautau"]
    assert (data_dir / "test_plan.json").exists()


@pytest.mark.slow
def test_same_command_same_bytes(data_dir, tmp_path) -> None:
    result = runner.invoke(
        app, ["data", "generate", "higgs-uncertainty", "--preset", "tiny", "--seed", "2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for split in ("train", "test"):
        assert (
            read_sidecar(tmp_path / f"{split}.parquet")["sha256"]
            == read_sidecar(data_dir / f"{split}.parquet")["sha256"]
        )


@pytest.mark.slow
def test_baseline_run_then_rescore(data_dir, tmp_path) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            "higgs-uncertainty",
            "bdt-template-fit",
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--data",
            str(data_dir),
            "--sets",
            "2",
            "--pseudo-experiments",
            "3",
            "--device",
            "cpu",
            "--checkpoint",
            str(tmp_path / "checkpoint"),
            "--no-progress",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["device"] == "cpu" and len(record["pseudo_experiments"]) == 6
    assert not (tmp_path / "checkpoint").exists()  # removed once the record is complete
    metrics = record["metrics"]
    assert 0.5 < metrics["auc"] <= 1.0 and metrics["ams"] > 0
    assert metrics["n_failed"] == 0 and metrics["width"] > 0

    plan = tmp_path / "plan.json"
    from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan

    make_test_plan(2, 3, initial_seed=0).to_json(plan)
    rescored = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(out), str(plan), "-o", "n_bootstrap=0", "--json", str(rescored)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(rescored.read_text())["metrics"]["coverage_score"] == pytest.approx(metrics["coverage_score"])


def test_wrong_preset_for_existing_data_is_refused(data_dir) -> None:
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            "higgs-uncertainty",
            "bdt-template-fit",
            "--preset",
            "small",
            "--data",
            str(data_dir),
            "--no-progress",
        ],
    )
    assert result.exit_code == 1
    assert "holds preset 'tiny'" in result.output


def test_cuda_without_gpu_is_a_clear_error(data_dir) -> None:
    from hepbench.torch_common import cuda_available

    if cuda_available():
        pytest.skip("a GPU is present")
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            "higgs-uncertainty",
            "bdt-template-fit",
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--data",
            str(data_dir),
            "--device",
            "cuda",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1 and "no CUDA GPU" in result.output


@pytest.mark.slow
def test_baseline_compare_in_parallel_writes_table_and_json(data_dir, tmp_path) -> None:
    out, markdown = tmp_path / "compare.json", tmp_path / "results.md"
    markdown.write_text("# Results\n\nkept text\n")
    methods = "bdt-counting,nn-shallow-low-template-fit"
    result = runner.invoke(
        app,
        [
            "baseline",
            "compare",
            "higgs-uncertainty",
            "--methods",
            methods,
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--data",
            str(data_dir),
            "--sets",
            "2",
            "--pseudo-experiments",
            "3",
            "--device",
            "cpu",
            "--scheduler",
            "local",
            "--workers",
            "2",
            "--no-progress",
            "--markdown",
            str(markdown),
            "--machine",
            "test machine",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())["results"]
    assert [r["method"] for r in records] == methods.split(",")
    for r in records:
        assert len(r["pseudo_experiments"]) == 6 and r["metrics"]["n_failed"] == 0
    text = markdown.read_text()
    assert "kept text" in text and "test machine" in text
    assert "| bdt-counting |" in text and "| nn-shallow-low-template-fit |" in text

    # an interrupted comparison resumes: the finished methods are kept, not rerun
    result = runner.invoke(
        app,
        [
            "baseline",
            "compare",
            "higgs-uncertainty",
            "--methods",
            methods,
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--data",
            str(data_dir),
            "--sets",
            "2",
            "--pseudo-experiments",
            "3",
            "--resume",
            "--no-progress",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "kept 2 results" in result.output and "training on" not in result.output
    kept = json.loads(out.read_text())["results"]
    assert [(r["method"], r["train_seconds"]) for r in kept] == [(r["method"], r["train_seconds"]) for r in records]
    # each method's checkpoint (model and answers, beside the JSON) is gone once its record is written
    assert not (tmp_path / "compare.checkpoints").exists()

    # resumed for one method: the other method's result on the same data and plan stays in the file
    result = runner.invoke(
        app,
        ["baseline", "compare", "higgs-uncertainty", "--methods", "bdt-counting", "--preset", "tiny", "--seed", "2"]
        + ["--data", str(data_dir), "--sets", "2", "--pseudo-experiments", "3", "--no-progress", "--json", str(out)]
        + ["--resume"],
    )
    assert result.exit_code == 0, result.output
    assert "carried over 1 results" in result.output and "training on" not in result.output
    assert [r["method"] for r in json.loads(out.read_text())["results"]] == methods.split(",")

    # a method stopped mid-plan left its checkpoint: a new comparison does not overwrite it
    stopped = tmp_path / "compare.checkpoints" / "bdt-counting"
    stopped.mkdir(parents=True)
    (stopped / "identity.json").write_text("{}")
    result = runner.invoke(
        app,
        ["baseline", "compare", "higgs-uncertainty", "--methods", "bdt-counting", "--preset", "tiny", "--seed", "2"]
        + ["--data", str(data_dir), "--sets", "2", "--pseudo-experiments", "3", "--no-progress", "--json", str(out)],
    )
    assert result.exit_code == 1
    assert "holds a stopped run; pass --resume" in " ".join(result.output.split())
    assert (stopped / "identity.json").exists()


def test_baseline_compare_rejects_unknown_method(data_dir) -> None:
    result = runner.invoke(
        app,
        [
            "baseline",
            "compare",
            "higgs-uncertainty",
            "--methods",
            "bdt-counting,no-such",
            "--preset",
            "tiny",
            "--data",
            str(data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "no-such" in result.output


@pytest.mark.slow
def test_feature_ranking_study_writes_rankings_and_plot(data_dir, tmp_path) -> None:
    out = tmp_path / "ranking"
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            "higgs-uncertainty",
            "feature-ranking",
            "--preset",
            "tiny",
            "--seed",
            "2",
            "--data",
            str(data_dir),
            "--size",
            "tiny",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "rankings.json").read_text())
    assert len(record["methods"]) == 7
    assert (out / "auc_vs_n_features.png").stat().st_size > 10_000
    assert "iterative-addition" in (out / "rankings.md").read_text()


def test_a_study_writes_into_a_folder_named_after_it(data_dir, tmp_path, monkeypatch) -> None:
    from hepbench.challenges.higgs_uncertainty import studies

    calls = []

    def fake(data, preset, seed, size, out, progress):
        calls.append((len(data.test), preset, seed, size, out, progress))
        return {"study": "ran"}

    monkeypatch.setitem(studies.STUDY_RUNNERS, "fixed-sample-offset", fake)
    monkeypatch.chdir(tmp_path)
    args = ["baseline", "run", "higgs-uncertainty", "fixed-sample-offset", "--preset", "tiny", "--seed", "2"]
    result = runner.invoke(app, [*args, "--data", str(data_dir), "--no-progress", "--json", "study.json"])
    assert result.exit_code == 0, result.output
    assert calls == [(calls[0][0], "tiny", 2, "tiny", Path("fixed-sample-offset"), False)] and calls[0][0] > 0
    assert json.loads((tmp_path / "study.json").read_text()) == {"study": "ran"}


@pytest.mark.slow
def test_repeated_trainings_on_local_cluster_match_serial_runs(data_dir, tmp_path) -> None:
    common = [
        "baseline",
        "run",
        "higgs-uncertainty",
        "bdt-counting",
        "--preset",
        "tiny",
        "--seed",
        "2",
        "--data",
        str(data_dir),
        "--sets",
        "1",
        "--pseudo-experiments",
        "3",
        "--device",
        "cpu",
        "--no-progress",
    ]
    out = tmp_path / "seeds.json"
    result = runner.invoke(
        app,
        [
            *common,
            "--model-seed",
            "1",
            "--model-seed",
            "4",
            "--scheduler",
            "local",
            "--workers",
            "2",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["model_seeds"] == [1, 4] and [r["model_seed"] for r in payload["results"]] == [1, 4]
    assert set(payload["summary"]) >= {"coverage", "width", "auc"} and payload["summary"]["width"]["std"] > 0

    single = tmp_path / "seed4.json"
    result = runner.invoke(app, [*common, "--model-seed", "4", "--scheduler", "serial", "--json", str(single)])
    assert result.exit_code == 0, result.output
    serial = json.loads(single.read_text())
    keys = ("mu_hat", "p16", "p84")
    assert [[pe[k] for k in keys] for pe in serial["pseudo_experiments"]] == [
        [pe[k] for k in keys] for pe in payload["results"][1]["pseudo_experiments"]
    ]
    assert serial["metrics"]["auc"] == payload["results"][1]["metrics"]["auc"]


def test_unknown_scheduler_exits_non_zero(data_dir) -> None:
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            "higgs-uncertainty",
            "bdt-counting",
            "--preset",
            "tiny",
            "--data",
            str(data_dir),
            "--scheduler",
            "threads",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1 and "unknown scheduler 'threads'" in result.output
