"""Reading a submission's answers and joining them to a test plan's hidden truth.

Answers are one row per pseudo-experiment: ``set_index, pe_index, mu_hat, delta_mu_hat, p16,
p84``, as CSV, or JSON (a list of rows, ``{"answers": [...]}`` as the sandbox writes it, or a run
record with ``pseudo_experiments``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .protocol import ANSWER_KEYS, AnswerError, validate_answer
from .pseudo_experiments import TestPlan

KEY_COLUMNS = ("set_index", "pe_index")
MAX_ANSWERS_BYTES = 16 << 20
"""Largest answers file read (the anchor's 1,000 pseudo-experiments take about 100 kB)."""
MAX_INT_DIGITS = 18


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _integer_column(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """``frame[column]`` as int64, or ValueError naming the first row that is not an integer."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values != values.round()) | (values.abs() > 2**53)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{path}: row {row}: {column} = {frame[column].iloc[row]!r} is not an integer")
    return values.astype(np.int64)


def read_answers(path: Path) -> pd.DataFrame:
    """Answers as a frame (keys as int64; answers as given, checked per pseudo-experiment when
    joined to the plan); errors name the file, the row and the field. The file is at most
    ``MAX_ANSWERS_BYTES``, JSON numbers have at most ``MAX_INT_DIGITS`` digits and CSV comment
    lines are refused."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: answers file not found")
    size = path.stat().st_size
    if size > MAX_ANSWERS_BYTES:
        raise ValueError(f"{path}: {size:,} bytes; an answers file is at most {MAX_ANSWERS_BYTES:,} bytes")
    try:
        if path.suffix == ".json":
            payload = json.loads(path.read_text(), parse_int=_bounded_int)
            if isinstance(payload, dict):
                key = "answers" if "answers" in payload else "pseudo_experiments"
                rows = payload[key]
            else:
                rows = payload
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ValueError("the answers must be a list of objects, one per pseudo-experiment")
            frame = pd.DataFrame(rows)
        else:
            text = path.read_text()
            comment = next((i for i, line in enumerate(text.splitlines()) if line.lstrip().startswith("#")), None)
            if comment is not None:
                raise ValueError(f"line {comment + 1} is a comment; answers CSV files have none")
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except RecursionError:
        raise ValueError(f"{path}: cannot read answers (JSON nested too deep)") from None
    except (json.JSONDecodeError, KeyError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: cannot read answers ({type(err).__name__}: {err}); expected CSV, a JSON list "
            "of rows, or JSON with 'answers'"
        ) from None
    missing = [c for c in (*KEY_COLUMNS, *ANSWER_KEYS) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {[*KEY_COLUMNS, *ANSWER_KEYS]}")
    for column in KEY_COLUMNS:
        frame[column] = _integer_column(frame, column, path)
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
    # Answers as float64 (NaN where the pseudo-experiment failed), whatever types they came in.
    for key in ANSWER_KEYS:
        merged[key] = pd.to_numeric(merged[key], errors="coerce").astype(np.float64)
    merged.loc[merged["status"] != "ok", list(ANSWER_KEYS)] = np.nan
    return merged
