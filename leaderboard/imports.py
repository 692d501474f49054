"""Baseline run records (``hepbench baseline run|compare --json``, ``hepbench demo --json``) as
baseline submissions."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ..output import jsonable as _jsonable
from ..records import load_records, validate_record
from .db import Store
from .submissions import Submitted, submit

BASELINE_PARTICIPANT = "hepbench baselines"


def add_records(
    store: Store,
    records: list[dict[str, Any]],
    *,
    phase: str = "public",
    participant: str = BASELINE_PARTICIPANT,
    source: str = "run records",
) -> list[Submitted]:
    """Submit each run record as a baseline of its challenge's ``phase`` (one payload file each)."""
    out = []
    with tempfile.TemporaryDirectory(prefix="hepbench-records-") as tmp:
        for i, record in enumerate(records):
            text = json.dumps(_jsonable(record), sort_keys=True, allow_nan=False) + "\n"
            record = validate_record(json.loads(text), source, f"record {i}")
            path = Path(tmp) / f"record-{i}.json"
            path.write_text(text)
            description = (
                f"{record.get('preset', '?')} preset, {record.get('n_sets', '?')} sets x "
                f"{record.get('n_pseudo_experiments', '?')} pseudo-experiments, device {record.get('device', '?')}"
            )
            out.append(
                submit(
                    store,
                    record["challenge"],
                    phase,
                    participant,
                    record["method"],
                    path,
                    is_baseline=True,
                    description=description,
                )
            )
    return out


def add_results(
    store: Store, path: str | Path, *, phase: str = "public", participant: str = BASELINE_PARTICIPANT
) -> list[Submitted]:
    """Submit every run record in the results file ``path`` as a baseline."""
    return add_records(store, load_records(path), phase=phase, participant=participant, source=str(path))
