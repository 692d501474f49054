"""The command line: help texts, JSON output, and clear errors on bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.cli.main import app

runner = CliRunner()

SUBCOMMANDS = [
    [],
    ["challenges"],
    ["data"],
    ["data", "generate"],
    ["data", "validate"],
    ["baseline"],
    ["baseline", "list"],
    ["baseline", "run"],
    ["score"],
    ["demo"],
]


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "root")
def test_every_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if args and args[-1] in ("generate", "run", "demo", "score", "validate"):
        assert "--json" in result.output


def test_challenges_json(tmp_path) -> None:
    out = tmp_path / "c.json"
    result = runner.invoke(app, ["challenges", "--json", str(out)])
    assert result.exit_code == 0, result.output
    ids = [c["id"] for c in json.loads(out.read_text())]
    assert "higgs-uncertainty" in ids


def test_baseline_list_names_the_template_fit(tmp_path) -> None:
    out = tmp_path / "b.json"
    result = runner.invoke(app, ["baseline", "list", "higgs-uncertainty", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert {"bdt-template-fit"} <= {b["method"] for b in json.loads(out.read_text())}


def test_unknown_challenge_is_a_clear_error() -> None:
    result = runner.invoke(app, ["baseline", "list", "no-such-challenge"])
    assert result.exit_code == 1
    assert "unknown challenge 'no-such-challenge'" in result.output


@pytest.fixture()
def plan_file(tmp_path):
    plan = make_test_plan(2, 3, initial_seed=4)
    path = tmp_path / "plan.json"
    plan.to_json(path)
    return plan, path


def answers_for(plan, width: float = 0.4) -> pd.DataFrame:
    t = plan.table
    return pd.DataFrame(
        {
            "set_index": t["set_index"],
            "pe_index": t["pe_index"],
            "mu_hat": t["mu_true"],
            "delta_mu_hat": width / 2,
            "p16": t["mu_true"] - width / 2,
            "p84": t["mu_true"] + width / 2,
        }
    )


def test_score_good_answers(tmp_path, plan_file) -> None:
    plan, path = plan_file
    answers = tmp_path / "answers.csv"
    answers_for(plan).to_csv(answers, index=False)
    out = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=50", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["coverage"] == 1.0 and metrics["width"] == pytest.approx(0.4)


def test_score_missing_column_names_file_and_field(tmp_path, plan_file) -> None:
    plan, path = plan_file
    answers = tmp_path / "bad.csv"
    answers_for(plan).drop(columns="p84").to_csv(answers, index=False)
    result = runner.invoke(app, ["score", "higgs-uncertainty", str(answers), str(path)])
    assert result.exit_code == 1
    assert "bad.csv" in result.output and "p84" in result.output


def test_score_nan_and_missing_rows_fail_those_pseudo_experiments(tmp_path, plan_file) -> None:
    plan, path = plan_file
    frame = answers_for(plan)
    frame.loc[0, "mu_hat"] = float("nan")
    frame = frame.drop(index=5)
    answers = tmp_path / "partial.csv"
    frame.to_csv(answers, index=False)
    out = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=0", "--json", str(out)]
    )
    assert result.exit_code == 3
    assert "mu_hat" in result.output and "no answer" in result.output
    payload = json.loads(out.read_text())
    assert payload["metrics"]["n_failed"] == 2
    assert payload["metrics"]["coverage"] == pytest.approx(4 / 6)
