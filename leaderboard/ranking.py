"""Leaderboards: a phase's submissions ranked by its challenge's declaration.

The primary metric ranks, the tie-breakers order equal primaries (in declaration order); equal
values on every ranking metric share a rank (1, 2, 2, 4). A missing or non-finite value ranks
last. Scores of a hidden phase are withheld until the organiser reveals them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import challenges
from ..challenges import Challenge
from .db import Store
from .models import SCORED, ChallengeRow, PhaseRow, SubmissionRow, utcnow
from .phase_settings import status_line
from .submissions import get_phase


@dataclass
class Entry:
    submission_id: int
    participant: str
    method: str
    description: str
    is_baseline: bool
    created_at: dt.datetime
    state: str
    reason: str
    attempts: int
    rank: int | None = None
    metrics: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """name -> (value, error); empty while the phase's scores are hidden."""


@dataclass
class Board:
    challenge: Challenge
    phase_slug: str
    phase_title: str
    hidden: bool
    visible: bool
    ranked: list[Entry]
    """Scored submissions, best first."""
    pending: list[Entry]
    """Queued, running and failed submissions (and every one while the scores are hidden)."""
    window: dict[str, Any] = field(default_factory=dict)
    """The phase's dates as :func:`~.phase_settings.status_line` words them (open, closes in, closed)."""


def _sort_key(challenge: Challenge, metrics: dict[str, tuple[float | None, float | None]]) -> tuple[float, ...]:
    key = []
    for metric in challenge.ranking:
        value = metrics.get(metric.name, (None, None))[0]
        if value is None or not math.isfinite(value):
            key.append(math.inf)
        else:
            key.append(-value if metric.higher_is_better else value)
    return tuple(key)


def rank_entries(challenge: Challenge, entries: list[Entry]) -> list[Entry]:
    """Sort scored ``entries`` best first and set their ``rank`` (ties share one)."""
    ordered = sorted(entries, key=lambda e: (_sort_key(challenge, e.metrics), e.created_at, e.submission_id))
    previous: tuple[float, ...] | None = None
    for position, entry in enumerate(ordered, start=1):
        key = _sort_key(challenge, entry.metrics)
        entry.rank = ordered[position - 2].rank if key == previous else position
        previous = key
    return ordered


def _entry(submission: SubmissionRow, with_metrics: bool) -> Entry:
    run = submission.run
    entry = Entry(
        submission.id,
        submission.participant,
        submission.method,
        submission.description,
        submission.is_baseline,
        submission.created_at,
        run.state,
        run.reason,
        run.attempts,
    )
    if with_metrics:
        entry.metrics = {m.name: (m.value, m.error) for m in submission.metrics}
    return entry


def board(store: Store, challenge: str, phase: str, *, organiser: bool = False) -> Board:
    """The leaderboard of ``challenge``/``phase``; ``organiser`` shows hidden scores too."""
    declared = challenges.get(challenge)
    with store.transaction() as session:
        row = get_phase(session, challenge, phase)
        visible = row.scores_visible or organiser
        submissions = session.scalars(
            select(SubmissionRow)
            .where(SubmissionRow.phase_id == row.id)
            .options(selectinload(SubmissionRow.run), selectinload(SubmissionRow.metrics))
            .order_by(SubmissionRow.created_at, SubmissionRow.id)
        ).all()
        entries = [_entry(s, visible) for s in submissions]
        title, hidden = row.title, row.hidden
        window = status_line(row.starts_at, row.ends_at, utcnow())
    scored = [e for e in entries if e.state == SCORED and visible]
    pending = [e for e in entries if not (e.state == SCORED and visible)]
    return Board(declared, phase, title, hidden, visible, rank_entries(declared, scored), pending, window)


def phases(store: Store) -> list[dict[str, Any]]:
    """Every challenge with its phases and counts of submissions (for the index)."""
    with store.transaction() as session:
        challenges = session.scalars(
            select(ChallengeRow).options(selectinload(ChallengeRow.phases)).order_by(ChallengeRow.id)
        ).all()
        out = []
        for c in challenges:
            items = []
            for p in c.phases:
                subs = session.scalars(
                    select(SubmissionRow).where(SubmissionRow.phase_id == p.id).options(selectinload(SubmissionRow.run))
                ).all()
                items.append(
                    {
                        "slug": p.slug,
                        "title": p.title,
                        "hidden": p.hidden,
                        "visible": p.scores_visible,
                        "submissions": len(subs),
                        "scored": sum(s.run.state == SCORED for s in subs),
                        "baselines": sum(s.is_baseline for s in subs),
                        "window": status_line(p.starts_at, p.ends_at, utcnow()),
                    }
                )
            out.append({"slug": c.slug, "title": c.title, "description": c.description, "phases": items})
        return out


def phase_of(store: Store, submission_id: int) -> PhaseRow:
    with store.transaction() as session:
        submission = session.get(SubmissionRow, submission_id)
        if submission is None:
            raise KeyError(submission_id)
        phase = submission.phase
        _ = phase.challenge
        return phase
