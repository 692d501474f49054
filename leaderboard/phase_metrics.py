"""Metrics over every scored submission of a phase (calo's multiclass score), recomputed after
each newly scored submission from the outputs the worker kept on the organiser's side.

The kept files live under ``organiser/outputs/SUBMISSION/`` of the leaderboard home (never
served); the recomputed values replace the submissions' metric rows of the same names, and the
files (a matrix as JSON, its heat map) replace the artefacts of the same names on every page.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import delete, select

from ..challenges import get
from .db import Store
from .models import SCORED, ArtefactRow, MetricValueRow, RunRow, SubmissionRow
from .scoring import Scored


def kept_folder(store: Store, submission_id: int) -> Path:
    """Where the outputs the organiser keeps of one submission are stored."""
    return store.path(f"organiser/outputs/{submission_id}")


def keep_outputs(store: Store, submission_id: int, scored: Scored) -> None:
    """Write the kept output files of a scored submission (replacing earlier ones)."""
    folder = kept_folder(store, submission_id)
    for item in scored.kept:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (item.name + ".partial")
        partial.write_bytes(item.content)
        partial.replace(folder / item.name)


def refresh(store: Store, submission_id: int) -> int:
    """Recompute the phase metrics of the phase of ``submission_id`` over all its scored
    submissions with kept outputs; returns how many submissions were updated (0 when the
    challenge has no phase metrics or the phase no truth)."""
    with store.transaction() as session:
        submission = session.get(SubmissionRow, submission_id)
        if submission is None:
            return 0
        phase = submission.phase
        slug, truth = phase.challenge.slug, phase.plan_path
        rows = session.execute(
            select(SubmissionRow.id, SubmissionRow.method, SubmissionRow.participant)
            .join(RunRow, RunRow.submission_id == SubmissionRow.id)
            .where(SubmissionRow.phase_id == phase.id, RunRow.state == SCORED)
            .order_by(SubmissionRow.id)
        ).all()
    declared = get(slug)
    if not declared.kept_outputs or truth is None:
        return 0
    labels = {
        sid: f"#{sid} {method} ({participant})"
        for sid, method, participant in rows
        if all((kept_folder(store, sid) / name).is_file() for name in declared.kept_outputs)
    }
    if not labels:
        return 0
    result = declared.phase_metrics({label: kept_folder(store, sid) for sid, label in labels.items()}, Path(truth))
    if result is None:
        return 0
    names = sorted({name for values in result.metrics.values() for name in values})
    for sid in labels:
        for file_name, (_, content) in result.files.items():
            target = store.path(f"artefacts/{sid}/{file_name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(content)
            partial.replace(target)
    with store.transaction() as session:
        for sid, label in labels.items():
            session.execute(
                delete(MetricValueRow).where(MetricValueRow.submission_id == sid, MetricValueRow.name.in_(names))
            )
            for name in names:
                session.add(MetricValueRow(submission_id=sid, name=name, value=result.metrics[label].get(name)))
            session.execute(
                delete(ArtefactRow).where(ArtefactRow.submission_id == sid, ArtefactRow.name.in_(list(result.files)))
            )
            for file_name, (title, content) in result.files.items():
                session.add(
                    ArtefactRow(
                        submission_id=sid,
                        name=file_name,
                        kind="plot" if file_name.endswith(".png") else "json",
                        title=title,
                        path=f"artefacts/{sid}/{file_name}",
                        sha256=hashlib.sha256(content).hexdigest(),
                        # Measured on the phase's held-out reference showers: shown once it is revealed.
                        truth=True,
                    )
                )
    return len(labels)
