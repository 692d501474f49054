"""Challenges, phases and submissions: what enters the store, with the participant limits.

A submission is persisted (payload copied into the home folder under its sha256, submission and
queued run rows committed in one transaction) before anything scores it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import challenges
from .db import Store
from .identities import AuthenticationError, authenticate, identity_key, registered
from .models import QUEUED, ChallengeRow, PhaseRow, RunRow, SubmissionRow, utcnow
from .phase_settings import MAX_SETTING, check_window, dump_limits, load_limits, refuse_outside
from .scoring import check_payload


class SubmissionLimitError(ValueError):
    """A participant has used up a phase's submissions (per day or in total)."""


@dataclass(frozen=True)
class Submitted:
    submission_id: int
    created: bool
    """False when the same participant had already sent the same payload to this phase."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sync_challenges(store: Store) -> None:
    """Create the rows of every declared challenge and phase that the store lacks (idempotent;
    organiser settings of existing phases are kept)."""
    with store.transaction() as session:
        for _position, challenge in enumerate(challenges.all()):
            row = session.scalar(select(ChallengeRow).where(ChallengeRow.slug == challenge.id))
            if row is None:
                row = ChallengeRow(slug=challenge.id, title=challenge.title, description=challenge.description)
                session.add(row)
                session.flush()
            else:
                row.title, row.description = challenge.title, challenge.description
            existing = {p.slug for p in row.phases}
            for i, spec in enumerate(challenge.phases):
                if spec.slug not in existing:
                    session.add(
                        PhaseRow(
                            challenge_id=row.id,
                            slug=spec.slug,
                            title=spec.title,
                            position=i,
                            hidden=spec.hidden,
                            revealed=False,
                        )
                    )


def get_phase(session: Session, challenge: str, phase: str, *, lock: bool = False) -> PhaseRow:
    """The phase row ``challenge``/``phase``, with an error listing the known ones."""
    challenges.get(challenge)
    query = select(PhaseRow).join(ChallengeRow).where(ChallengeRow.slug == challenge, PhaseRow.slug == phase)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        known = session.scalars(select(PhaseRow.slug).join(ChallengeRow).where(ChallengeRow.slug == challenge)).all()
        raise ValueError(
            f"challenge {challenge!r} has no phase {phase!r}; known: {sorted(known)} "
            "(run `hepbench leaderboard init` to create the declared ones)"
        )
    return row


def configure_phase(
    store: Store,
    challenge: str,
    phase: str,
    *,
    plan: Path | None = None,
    max_per_day: int | None = None,
    max_total: int | None = None,
    revealed: bool | None = None,
    clear_limits: bool = False,
    clear_plan: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    clear_dates: bool = False,
    sandbox_limits: dict[str, float | int] | None = None,
    clear_sandbox_limits: bool = False,
) -> None:
    """Organiser settings of a phase: test plan (checked by the challenge, or cleared), submission
    limits, dates (naive UTC; ``clear_dates`` first), sandbox limits (merged into the phase's,
    ``clear_sandbox_limits`` first; checked with ``phase_settings.parse_limits``), whether hidden
    scores are shown."""
    with store.transaction() as session:
        row = get_phase(session, challenge, phase, lock=True)
        if clear_dates:
            row.starts_at = row.ends_at = None
        row.starts_at, row.ends_at = start or row.starts_at, end or row.ends_at
        check_window(row.starts_at, row.ends_at, f"phase {challenge}/{phase}: --end")
        if clear_sandbox_limits:
            row.sandbox_limits = None
        if sandbox_limits:
            row.sandbox_limits = dump_limits({**load_limits(row.sandbox_limits), **sandbox_limits})
        if plan is not None:
            if clear_plan:
                raise ValueError("give either --plan or --clear-plan")
            if not plan.exists():
                raise FileNotFoundError(f"{plan}: the phase's hidden truth not found")
            challenges.get(challenge).check_truth(plan)
            row.plan_path = str(plan.resolve())
        if clear_plan:
            row.plan_path = None
        if plan is not None or clear_plan:  # the organiser's truth replaces data made on first use
            row.data_preset = row.data_seed_source = None
        if clear_limits:
            row.max_per_day = row.max_total = None
        for name, value in (("max_per_day", max_per_day), ("max_total", max_total)):
            if value is not None:
                if value < 1:
                    raise ValueError(f"{name} must be at least 1, got {value}")
                if value > MAX_SETTING:
                    raise ValueError(f"{name} must be at most {MAX_SETTING}, got {value}")
                setattr(row, name, value)
        if revealed is not None:
            row.revealed = revealed


def check_open(store: Store, challenge: str, phase: str, now: dt.datetime | None = None) -> None:
    """Raise ``PhaseClosedError`` when ``phase`` takes no submissions at ``now`` (its dates)."""
    with store.transaction() as session:
        row = get_phase(session, challenge, phase)
        refuse_outside(f"{challenge}/{phase}", row.starts_at, row.ends_at, now or utcnow())


def _check_limits(session: Session, phase: PhaseRow, participant: str, key: str, now: dt.datetime) -> None:
    mine = select(func.count(SubmissionRow.id)).where(
        SubmissionRow.phase_id == phase.id, SubmissionRow.participant_key == key
    )
    where = f"{phase.challenge.slug}/{phase.slug}"
    if phase.max_total is not None:
        total = session.scalar(mine) or 0
        if total >= phase.max_total:
            raise SubmissionLimitError(
                f"participant {participant!r} has made {total} submissions to {where}; "
                f"the limit is {phase.max_total} in total"
            )
    if phase.max_per_day is not None:
        since = now - dt.timedelta(days=1)
        recent = session.scalars(
            mine.with_only_columns(SubmissionRow.created_at)
            .where(SubmissionRow.created_at > since)
            .order_by(SubmissionRow.created_at)
        ).all()
        if len(recent) >= phase.max_per_day:
            allowed = recent[len(recent) - phase.max_per_day] + dt.timedelta(days=1)
            raise SubmissionLimitError(
                f"participant {participant!r} has made {len(recent)} submissions to {where} in the last 24 hours; "
                f"the limit is {phase.max_per_day} per day (next one allowed after {allowed:%Y-%m-%d %H:%M} UTC)"
            )


def submit(
    store: Store,
    challenge: str,
    phase: str,
    participant: str,
    method: str,
    payload: str | Path,
    *,
    is_baseline: bool = False,
    description: str = "",
    now: dt.datetime | None = None,
    token: str | None = None,
) -> Submitted:
    """Persist a submission and queue it for scoring (one transaction).

    With ``token`` the submission is made by the identity holding it (``participant`` is then
    ignored); a name registered as an identity can only submit with its token. The phase's
    limits count per identity (the normalised name), however the name is typed. The payload is
    checked first (a clear error names the file and field), then copied into the home folder
    under its sha256. Sending the same payload again returns the existing submission. Outside
    the phase's dates a submission is refused (``PhaseClosedError``). Baselines are exempt from
    the dates and the participant limits.
    """
    payload = Path(payload)
    if not payload.is_file():
        raise FileNotFoundError(f"{payload}: payload file not found")
    if token is not None:
        identity = authenticate(store, token)
        participant, key = identity.name, identity.key
    else:
        participant, key = participant.strip(), identity_key(participant)
        if not is_baseline and registered(store, key):
            raise AuthenticationError(f"{participant!r} is a registered participant: submit with their token")
    method = method.strip()
    if not key:
        raise ValueError("participant must not be empty")
    if not method:
        raise ValueError("method must not be empty")
    digest = sha256_file(payload)
    now = now or utcnow()
    with store.transaction() as session:
        # Locking the phase row serialises submissions to it (PostgreSQL; SQLite has one writer anyway),
        # so two concurrent submissions cannot both slip under a limit.
        row = get_phase(session, challenge, phase, lock=True)
        if not is_baseline:  # the organiser's baselines may be added at any time
            refuse_outside(f"{challenge}/{phase}", row.starts_at, row.ends_at, now)
        if row.plan_path is None and not is_baseline:
            raise ValueError(
                f"phase {challenge}/{phase} has no hidden truth yet: only baseline run records can be "
                f"added (organiser: `hepbench leaderboard phase {challenge} {phase} --truth PATH`)"
            )
        # A baseline is a run record scored where it ran, whatever truth the phase holds.
        check_payload(challenge, payload, None if is_baseline else row.plan_path)
        existing = session.scalar(
            select(SubmissionRow).where(
                SubmissionRow.phase_id == row.id,
                SubmissionRow.participant_key == key,
                SubmissionRow.payload_sha256 == digest,
            )
        )
        if existing is not None:
            return Submitted(existing.id, created=False)
        if not is_baseline:
            _check_limits(session, row, participant, key, now)
        suffix = ".tar.gz" if payload.name.lower().endswith(".tar.gz") else "".join(payload.suffixes[-1:]) or ".bin"
        relative = f"payloads/{digest}{suffix}"
        target = store.path(relative)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(payload, partial)
            partial.replace(target)
        submission = SubmissionRow(
            phase_id=row.id,
            participant=participant,
            participant_key=key,
            method=method,
            description=description,
            is_baseline=is_baseline,
            created_at=now,
            payload_path=relative,
            payload_sha256=digest,
        )
        session.add(submission)
        session.flush()
        session.add(RunRow(submission_id=submission.id, state=QUEUED, attempts=0, queued_at=now))
        session.flush()
        return Submitted(submission.id, created=True)
