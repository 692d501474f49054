"""Reading a submission's answers and joining them to a test plan's hidden truth.

Answers are one row per pseudo-experiment: ``set_index, pe_index, mu_hat, delta_mu_hat, p16,
p84``, as CSV, or JSON (a list of rows, ``{"answers": [...]}`` as the sandbox writes it, or a run
record with ``pseudo_experiments``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .protocol import ANSWER_KEYS, AnswerError, validate_answer
from .pseudo_experiments import TestPlan

KEY_COLUMNS = ("set_index", "pe_index")


def read_answers(path: Path) -> pd.DataFrame:
    """Answers as a frame; errors name the file and the field."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: answers file not found")
    try:
        if path.suffix == ".json":
            payload = json.loads(path.read_text())
            if isinstance(payload, dict):
                key = "answers" if "answers" in payload else "pseudo_experiments"
                rows = payload[key]
            else:
                rows = payload
            frame = pd.DataFrame(rows)
        else:
            frame = pd.read_csv(path)
    except (json.JSONDecodeError, KeyError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: cannot read answers ({type(err).__name__}: {err}); expected CSV, a JSON list "
            "of rows, or JSON with 'answers'"
        ) from None
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
