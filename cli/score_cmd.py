"""``hepbench score``: score a submission's answers against a test plan's hidden truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer

from ..challenges import get_challenge
from ..challenges.higgs_uncertainty.harness import score_results
from ..challenges.higgs_uncertainty.protocol import ANSWER_KEYS, AnswerError, validate_answer
from ..challenges.higgs_uncertainty.pseudo_experiments import TestPlan
from .apps import ChallengeArg, JsonOption, app, handles_errors
from .output import console, write_json

KEY_COLUMNS = ("set_index", "pe_index")


def read_answers(path: Path) -> pd.DataFrame:
    """Answers as a frame: CSV, or JSON (a list of rows, or a record with ``pseudo_experiments``)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: answers file not found")
    try:
        if path.suffix == ".json":
            payload = json.loads(path.read_text())
            rows = payload["pseudo_experiments"] if isinstance(payload, dict) else payload
            frame = pd.DataFrame(rows)
        else:
            frame = pd.read_csv(path)
    except (json.JSONDecodeError, KeyError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read answers ({type(err).__name__}: {err})") from None
    missing = [c for c in (*KEY_COLUMNS, *ANSWER_KEYS) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {[*KEY_COLUMNS, *ANSWER_KEYS]}")
    if frame.duplicated(list(KEY_COLUMNS)).any():
        dup = frame.loc[frame.duplicated(list(KEY_COLUMNS)), list(KEY_COLUMNS)].iloc[0].tolist()
        raise ValueError(f"{path}: pseudo-experiment (set_index, pe_index) = {tuple(dup)} answered twice")
    return frame


def join_answers(plan: TestPlan, answers: pd.DataFrame) -> pd.DataFrame:
    """One row per pseudo-experiment of the plan: the answer, or a failure with its reason."""
    truth = plan.table[["set_index", "pe_index", "seed", "mu_true"]]
    merged = truth.merge(answers[[*KEY_COLUMNS, *ANSWER_KEYS]], on=list(KEY_COLUMNS), how="left", indicator=True)
    status, message = [], []
    for answered, row in zip(merged["_merge"] == "both", merged[list(ANSWER_KEYS)].to_dict(orient="records")):
        if not answered:
            status.append("failed")
            message.append("no answer for this pseudo-experiment")
            continue
        try:
            validate_answer(row)
            status.append("ok")
            message.append("")
        except AnswerError as err:
            status.append("failed")
            message.append(str(err))
    merged = merged.drop(columns="_merge")
    merged["status"], merged["message"] = status, message
    return merged


@app.command("score")
@handles_errors
def score(
    challenge: ChallengeArg,
    plan: Annotated[Optional[Path], typer.Option(help="higgs-uncertainty: test plan JSON (hidden truth: mu_true per pseudo-experiment).")] = None,
    answers: Annotated[Optional[Path], typer.Option(help="higgs-uncertainty: answers (CSV or JSON): set_index, pe_index, mu_hat, delta_mu_hat, p16, p84.")] = None,
    n_bootstrap: Annotated[int, typer.Option(help="Bootstrap replicas over sets (0 to skip).")] = 1000,
    generated: Annotated[Optional[Path], typer.Option(help="calo: generated showers (official HDF5 format).")] = None,
    reference: Annotated[Optional[Path], typer.Option(help="calo: reference showers (official HDF5 format).")] = None,
    classifier: Annotated[str, typer.Option(help="calo: classifier size tiny | small | full (full = the anchor's).")] = "small",
    runs: Annotated[int, typer.Option(help="calo: classifier trainings to average.")] = 1,
    plots: Annotated[Optional[Path], typer.Option(help="calo: folder for the feature histograms (PNG).")] = None,
    answer: Annotated[Optional[Path], typer.Option(help="lhco: a black-box answer (JSON: significance, mass, mass_uncertainty, optional scores file).")] = None,
    organiser: Annotated[Optional[Path], typer.Option(help="lhco: the black box's organiser folder (its hidden truth).")] = None,
    json_path: JsonOption = None,
) -> None:
    """Score a submission: higgs-uncertainty answers (coverage score, width, coverage, RMSE, MAE), or
    calo generated showers (classifier AUC and JSD, FPD, KPD, separation powers)."""
    get_challenge(challenge)
    if challenge == "lhco":
        from ..challenges.lhco.black_box import score_answer

        if answer is None or organiser is None:
            raise ValueError("lhco scoring needs --answer (the participant's JSON) and --organiser (the box's truth folder)")
        result = score_answer(answer, organiser)
        for key, value in result.items():
            console.print(f"{key}: {value}")
        write_json(json_path, result)
        return
    if challenge == "calo":
        from ..challenges.calo.cli import score_calo

        score_calo(generated, reference, classifier=classifier, n_runs=runs, plots=plots, json_path=json_path)
        return
    if challenge != "higgs-uncertainty":
        raise ValueError(f"scoring for {challenge!r} is not available yet")
    if plan is None or answers is None:
        raise ValueError("higgs-uncertainty scoring needs --plan and --answers")
    if not plan.exists():
        raise FileNotFoundError(f"{plan}: test plan not found")
    joined = join_answers(TestPlan.from_json(plan), read_answers(answers))
    for row in joined.loc[joined["status"] != "ok"].itertuples(index=False):
        console.print(f"[yellow]pseudo-experiment ({row.set_index}, {row.pe_index}) failed:[/yellow] {row.message}")
    metrics = score_results(joined, n_bootstrap=n_bootstrap)
    for key in ("coverage_score", "width", "coverage", "rmse", "mae", "n_failed"):
        console.print(f"{key:>15}: {metrics[key]:.4f}" if isinstance(metrics[key], float) else f"{key:>15}: {metrics[key]}")
    write_json(json_path, {"challenge": challenge, "plan": plan, "answers": answers, "metrics": metrics,
                           "failures": joined.loc[joined["status"] != "ok", ["set_index", "pe_index", "message"]].to_dict(orient="records")})
    if np.any(joined["status"] != "ok"):
        raise typer.Exit(code=3)
