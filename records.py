"""The one record type: a :class:`Score` (what a challenge's scorer returns) inside a run record.

A **run record** is the JSON object that ``hepbench baseline run|compare``, ``hepbench score``,
``hepbench submission run`` and ``hepbench demo`` write and that ``hepbench leaderboard
add-results|submit`` read: ``{"record_version": 1, "challenge", "method", "metrics", ...}`` plus
what the run was (preset, seeds, device, timings, per-pseudo-experiment rows). Files may hold one
record, a comparison ``{"challenge", "results": [records]}`` or the demo's ``{"challenges":
{id: [records]}}``. Every error names the file and the field at fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .output import JsonFileError, read_json

RECORD_VERSION = 1
"""Version of the run-record schema; written as ``record_version`` (absent in version-0 files)."""


class RecordError(JsonFileError):
    """A results file that is not a valid run record (the message names the file and field)."""


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass
class Score:
    """What :meth:`hepbench.challenges.base.Challenge.score` returns.

    ``metrics``: name -> value (None when undefined); ``errors``: name -> standard error
    (bootstrap) where known; ``details``: the rest of the scorer's output (bootstrap tables,
    per-pseudo-experiment rows, curves), JSON-ready; ``failures``: one line per item of the
    submission that failed (a pseudo-experiment without a valid answer), scored as the
    challenge's rules say.
    """

    challenge: str
    metrics: dict[str, Any]
    errors: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, method: str = "submission", **info: Any) -> dict[str, Any]:
        """The run record of this score: ``info`` (what was run, on what) plus the metrics."""
        return {
            "record_version": RECORD_VERSION,
            "challenge": self.challenge,
            "method": method,
            **info,
            **self.details,
            "metrics": self.metrics,
            "errors": self.errors,
            "failures": self.failures,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Score:
        """The score a run record reports about itself (metrics as written where the run was)."""
        errors = dict(record.get("errors") or {})
        bootstrap = record["metrics"].get("bootstrap")
        if isinstance(bootstrap, dict):  # version-0 records keep the errors in the metrics
            for name, entry in bootstrap.items():
                if isinstance(entry, dict):
                    errors.setdefault(name, finite(entry.get("std")))
        return cls(
            challenge=record["challenge"],
            metrics=dict(record["metrics"]),
            errors=errors,
            failures=list(record.get("failures") or []),
        )


def records_in(payload: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The run records in a parsed results file, each with the JSON path it was found at.

    Accepted shapes: one record (``{"method": ..., "metrics": ...}``), a comparison
    (``{"challenge": ..., "results": [record, ...]}``), the demo's output
    (``{"challenges": {challenge: [record, ...]}}``) and a sandboxed run's ``record.json``
    (``{"score": record, ...}``).
    """
    if isinstance(payload, dict) and "challenges" in payload and isinstance(payload["challenges"], dict):
        found = []
        for challenge, records in payload["challenges"].items():
            if not isinstance(records, list):
                raise RecordError(f"{where}: field challenges.{challenge} must be a list of run records")
            for i, record in enumerate(records):
                found.append(
                    (
                        f"challenges.{challenge}[{i}]",
                        _with_challenge(record, challenge, where, f"challenges.{challenge}[{i}]"),
                    )
                )
        return found
    if isinstance(payload, dict) and "results" in payload:
        if not isinstance(payload["results"], list):
            raise RecordError(f"{where}: field results must be a list of run records")
        challenge = payload.get("challenge")
        return [
            (f"results[{i}]", _with_challenge(r, challenge, where, f"results[{i}]"))
            for i, r in enumerate(payload["results"])
        ]
    if isinstance(payload, dict) and "metrics" in payload:
        return [("(top level)", payload)]
    if isinstance(payload, dict) and isinstance(payload.get("score"), dict) and "metrics" in payload["score"]:
        return [("score", payload["score"])]  # a sandboxed run's record.json: its score is the run record
    raise RecordError(
        f"{where}: not a run record (expected a record with 'method' and 'metrics', "
        f"a comparison with 'results', or the demo's 'challenges')"
    )


def _with_challenge(record: Any, challenge: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError(f"{where}: {field} must be an object, got {type(record).__name__}")
    if challenge is not None and "challenge" not in record:
        record = {**record, "challenge": challenge}
    return record


def _number(value: Any, where: str, field: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{where}: field {field} must be a number, got {value!r}")


def validate_record(record: dict[str, Any], where: str, field: str = "(top level)") -> dict[str, Any]:
    """Check one run record against its challenge's declaration; return it.

    ``where`` is the file, ``field`` the record's JSON path. The challenge checks what only it
    knows (e.g. the per-pseudo-experiment rows of a HiggsML record).
    """
    from .challenges import get, ids

    at = "" if field == "(top level)" else f"{field}."
    challenge = record.get("challenge")
    if challenge not in ids():
        raise RecordError(f"{where}: field {at}challenge is {challenge!r}; known challenges: {sorted(ids())}")
    version = record.get("record_version", 0)
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise RecordError(
            f"{where}: field {at}record_version is {version!r}; this hepbench reads versions "
            f"up to {RECORD_VERSION} (upgrade hepbench)"
        )
    method = record.get("method")
    if not isinstance(method, str) or not method.strip():
        raise RecordError(f"{where}: field {at}method must be a non-empty string, got {method!r}")
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        raise RecordError(f"{where}: field {at}metrics must be an object, got {type(metrics).__name__}")
    spec = get(challenge)
    for metric in spec.ranking:
        if metric.name not in metrics:
            raise RecordError(f"{where}: field {at}metrics.{metric.name} is missing (a ranking metric)")
        _number(metrics[metric.name], where, f"{at}metrics.{metric.name}")
    spec.check_record(record, where, at)
    return record


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Every run record in ``path``, validated."""
    path = Path(path)
    try:
        payload = read_json(path)
    except JsonFileError as err:
        raise RecordError(str(err)) from None
    return [validate_record(record, str(path), field) for field, record in records_in(payload, str(path))]
