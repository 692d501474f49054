"""Reading baseline run records: the JSON that ``hepbench baseline run --json``,
``hepbench baseline compare --json`` and ``hepbench demo --json`` write.

Every error names the file and the field at fault.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..challenges import CHALLENGES, get_challenge

PE_KEYS = ("set_index", "mu_true", "p16", "p84")


class RecordError(ValueError):
    """A results file that is not a valid run record (the message names the file and field)."""


def read_json(path: Path) -> Any:
    """Parse ``path`` as JSON, with an error naming the file and the position of the fault."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not a text file ({err})") from None
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None


def records_in(payload: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The run records in a parsed results file, each with the JSON path it was found at.

    Accepted shapes: one record (``{"method": ..., "metrics": ...}``), a comparison
    (``{"challenge": ..., "results": [record, ...]}``) and the demo's output
    (``{"challenges": {challenge: [record, ...]}}``).
    """
    if isinstance(payload, dict) and "challenges" in payload and isinstance(payload["challenges"], dict):
        found = []
        for challenge, records in payload["challenges"].items():
            if not isinstance(records, list):
                raise RecordError(f"{where}: field challenges.{challenge} must be a list of run records")
            for i, record in enumerate(records):
                found.append((f"challenges.{challenge}[{i}]", _with_challenge(record, challenge, where,
                                                                             f"challenges.{challenge}[{i}]")))
        return found
    if isinstance(payload, dict) and "results" in payload:
        if not isinstance(payload["results"], list):
            raise RecordError(f"{where}: field results must be a list of run records")
        challenge = payload.get("challenge")
        return [(f"results[{i}]", _with_challenge(r, challenge, where, f"results[{i}]"))
                for i, r in enumerate(payload["results"])]
    if isinstance(payload, dict) and "metrics" in payload:
        return [("(top level)", payload)]
    raise RecordError(f"{where}: not a run record (expected a record with 'method' and 'metrics', "
                      f"a comparison with 'results', or the demo's 'challenges')")


def _with_challenge(record: Any, challenge: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError(f"{where}: {field} must be an object, got {type(record).__name__}")
    if challenge is not None and "challenge" not in record:
        record = {**record, "challenge": challenge}
    return record


def _number(value: Any, where: str, field: str, *, required: bool) -> float | None:
    if value is None:
        if required:
            raise RecordError(f"{where}: field {field} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{where}: field {field} must be a number, got {value!r}")
    return float(value) if math.isfinite(value) else None


def validate_record(record: dict[str, Any], where: str, field: str = "(top level)") -> dict[str, Any]:
    """Check one run record; return it. ``where`` is the file, ``field`` the record's JSON path."""
    at = "" if field == "(top level)" else f"{field}."
    challenge = record.get("challenge")
    if challenge not in CHALLENGES:
        raise RecordError(f"{where}: field {at}challenge is {challenge!r}; known challenges: {sorted(CHALLENGES)}")
    method = record.get("method")
    if not isinstance(method, str) or not method.strip():
        raise RecordError(f"{where}: field {at}method must be a non-empty string, got {method!r}")
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        raise RecordError(f"{where}: field {at}metrics must be an object, got {type(metrics).__name__}")
    for metric in get_challenge(challenge).ranking:
        if metric.name not in metrics:
            raise RecordError(f"{where}: field {at}metrics.{metric.name} is missing (a ranking metric)")
        _number(metrics[metric.name], where, f"{at}metrics.{metric.name}", required=False)
    rows = record.get("pseudo_experiments")
    if rows is not None:
        if not isinstance(rows, list) or not rows:
            raise RecordError(f"{where}: field {at}pseudo_experiments must be a non-empty list of rows")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise RecordError(f"{where}: field {at}pseudo_experiments[{i}] must be an object")
            for key in PE_KEYS:
                if key not in row:
                    raise RecordError(f"{where}: field {at}pseudo_experiments[{i}].{key} is missing")
    return record


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Every run record in ``path``, validated."""
    path = Path(path)
    payload = read_json(path)
    return [validate_record(record, str(path), field) for field, record in records_in(payload, str(path))]
