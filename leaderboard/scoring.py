"""Scoring one submission payload: metric values (with errors) and artefacts (plots, JSON).

A phase with a test plan scores answers (CSV or JSON rows ``set_index, pe_index, mu_hat,
delta_mu_hat, p16, p84``) against the plan's hidden truth. A phase without one accepts baseline
run records only: their pseudo-experiment rows are rescored here (when the record keeps them)
or their metrics are taken as written by the host that ran the baseline (the demo's summary).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .records import read_json, records_in, validate_record

N_BOOTSTRAP = 1000
# Metrics a run record reports about its own run (not recomputable from the answers).
REPORTED = ("auc", "ams", "train_seconds", "predict_seconds_mean")


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    error: float | None = None


@dataclass(frozen=True)
class Artefact:
    name: str
    kind: str
    title: str
    content: bytes


@dataclass
class Score:
    metrics: list[Metric] = field(default_factory=list)
    artefacts: list[Artefact] = field(default_factory=list)


class PayloadError(ValueError):
    """A payload that cannot be scored (the message names the file and the field)."""


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_record(path: Path) -> dict[str, Any]:
    """The single run record in ``path`` (a baseline submission holds exactly one)."""
    found = records_in(read_json(path), str(path))
    if len(found) != 1:
        raise PayloadError(f"{path}: a submission holds one run record, found {len(found)}")
    return validate_record(found[0][1], str(path), found[0][0])


def check_payload(challenge: str, path: Path, plan_path: str | None) -> None:
    """Raise a clear error now (at submission) for a payload that scoring would reject."""
    if challenge != "higgs-uncertainty":
        if plan_path is not None:
            raise PayloadError(f"{challenge!r} submissions are scored from run records; a test plan does not apply")
        read_record(path)
        return
    if plan_path is not None:
        from ..cli.score_cmd import read_answers

        read_answers(path)
    else:
        read_record(path)


def _higgs_metrics(rows: pd.DataFrame) -> tuple[list[Metric], dict[str, Any]]:
    from ..challenges.higgs_uncertainty.harness import score_results

    scored = score_results(rows, n_bootstrap=N_BOOTSTRAP)
    return _from_metrics_dict(scored), scored


def _from_metrics_dict(metrics: dict[str, Any]) -> list[Metric]:
    bootstrap = metrics.get("bootstrap") or {}
    out = []
    for name in ("coverage_score", "width", "coverage", "rmse", "mae", "n_failed", "n_pseudo_experiments"):
        if name in metrics:
            error = bootstrap.get(name, {}).get("std") if isinstance(bootstrap.get(name), dict) else None
            out.append(Metric(name, _finite(metrics[name]), _finite(error)))
    return out


def _plots(rows: pd.DataFrame, label: str) -> list[Artefact]:
    from . import plots

    return [
        Artefact("coverage_per_set.png", "plot", "Coverage per set", plots.coverage_per_set(rows, label)),
        Artefact("intervals.png", "plot", "Interval per pseudo-experiment against the true mu",
                 plots.intervals_vs_truth(rows, label)),
    ]


def _json_artefact(name: str, title: str, payload: Any) -> Artefact:
    from ..cli.output import _jsonable

    return Artefact(name, "json", title, (json.dumps(_jsonable(payload), indent=1, sort_keys=True) + "\n").encode())


def score_higgs(path: Path, plan_path: str | None, label: str) -> Score:
    """Score a HiggsML Uncertainty payload (answers against a plan, or a baseline run record)."""
    from ..challenges.higgs_uncertainty.harness import scored_answers

    if plan_path is not None:
        from ..challenges.higgs_uncertainty.pseudo_experiments import TestPlan
        from ..cli.score_cmd import join_answers, read_answers

        if not Path(plan_path).exists():
            raise FileNotFoundError(f"{plan_path}: the phase's test plan is missing")
        rows = join_answers(TestPlan.from_json(plan_path), read_answers(path))
        metrics, full = _higgs_metrics(rows)
        reported: dict[str, Any] = {}
    else:
        record = read_record(path)
        reported = record["metrics"] | {k: record[k] for k in REPORTED if k in record}
        if record.get("pseudo_experiments"):
            rows = pd.DataFrame(record["pseudo_experiments"])
            if "status" not in rows:
                rows["status"] = "ok"
            for key in ("mu_hat", "delta_mu_hat"):
                if key not in rows:
                    raise PayloadError(f"{path}: field pseudo_experiments[0].{key} is missing")
            metrics, full = _higgs_metrics(rows)
        else:
            rows, full = None, record["metrics"]
            metrics = _from_metrics_dict(full)
    names = {m.name for m in metrics}
    metrics += [Metric(k, _finite(reported[k])) for k in REPORTED if k in reported and k not in names]
    score = Score(metrics=metrics)
    score.artefacts.append(_json_artefact("score.json", "Every metric with its bootstrap", full))
    if rows is not None:
        shown = scored_answers(rows)
        score.artefacts += _plots(shown, label)
        keep = [c for c in ("set_index", "pe_index", "mu_true", "mu_hat", "delta_mu_hat", "p16", "p84", "status",
                            "message") if c in rows]
        score.artefacts.append(_json_artefact("pseudo_experiments.json", "Answer per pseudo-experiment",
                                              rows[keep].to_dict(orient="records")))
    return score


def score_payload(challenge: str, path: Path, plan_path: str | None, label: str) -> Score:
    """Score the payload at ``path`` for ``challenge``; ``label`` titles the plots."""
    if challenge == "higgs-uncertainty":
        return score_higgs(path, plan_path, label)
    return score_record(challenge, path)


def score_record(challenge: str, path: Path) -> Score:
    """A baseline run record of a challenge scored where it ran (lhco, calo): the ranking and
    shown metrics as the record reports them, plus the whole record as an artefact."""
    from ..challenges import get_challenge

    record = read_record(path)
    if record["challenge"] != challenge:
        raise PayloadError(f"{path}: a {record['challenge']!r} record submitted to {challenge!r}")
    spec = get_challenge(challenge)
    reported = record["metrics"] | {k: record[k] for k in REPORTED if k in record}
    names = [m.name for m in spec.ranking] + [c.name for c in spec.columns]
    score = Score(metrics=[Metric(name, _finite(reported[name])) for name in names if name in reported])
    score.artefacts.append(_json_artefact("record.json", "The run record", record))
    return score
