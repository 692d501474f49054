"""The scoring queue: durable run states (queued, running, scored, failed) in the database.

Every state change is a compare-and-set inside a transaction: a run moves only from the state
(and attempt) the caller saw, so two workers never claim one run, a recovered run is re-queued
exactly once, and a worker that lost its claim (it was presumed dead and its run recovered)
cannot overwrite the newer attempt's result. On PostgreSQL, workers pick runs with
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite transactions take the write lock up front
(``BEGIN IMMEDIATE``).

A worker keeps ``heartbeat_at`` of its run fresh while scoring. A run still ``running`` whose
heartbeat is older than ``stale_after`` seconds belonged to a worker that crashed or was killed:
``recover_stale`` re-queues it, or fails it with the reason once ``max_attempts`` is reached.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from .db import Store
from .models import FAILED, QUEUED, RUNNING, SCORED, ArtefactRow, MetricValueRow, RunRow, SubmissionRow, utcnow
from .scoring import PayloadError, RunFailed, Scored, score_payload

DEFAULT_MAX_ATTEMPTS = 3
log = logging.getLogger(__name__)
DEFAULT_STALE_AFTER = 120.0


@dataclass(frozen=True)
class Claim:
    """A run this worker holds: valid while the run is ``running`` with this attempt and worker."""

    run_id: int
    submission_id: int
    attempt: int
    worker: str


@dataclass(frozen=True)
class Recovery:
    run_id: int
    submission_id: int
    new_state: str
    reason: str


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _held(claim: Claim):  # type: ignore[no-untyped-def]
    return (
        RunRow.id == claim.run_id,
        RunRow.state == RUNNING,
        RunRow.attempts == claim.attempt,
        RunRow.worker == claim.worker,
    )


def recover_stale(
    store: Store,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    stale_after: float = DEFAULT_STALE_AFTER,
    now: dt.datetime | None = None,
) -> list[Recovery]:
    """Re-queue (or fail, after ``max_attempts``) the runs whose worker stopped mid-run.

    Each stopped attempt is recovered exactly once, even with several workers recovering at once.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=stale_after)
    done: list[Recovery] = []
    with store.transaction() as session:
        query = (
            select(RunRow.id, RunRow.submission_id, RunRow.attempts, RunRow.worker, RunRow.heartbeat_at)
            .where(RunRow.state == RUNNING, RunRow.heartbeat_at <= cutoff)
            .order_by(RunRow.id)
        )
        if store.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        for run_id, submission_id, attempts, worker, heartbeat in session.execute(query).all():
            last = (
                f"worker {worker} stopped during attempt {attempts} (last heartbeat {heartbeat:%Y-%m-%d %H:%M:%S} UTC)"
            )
            if attempts < max_attempts:
                state, reason, finished = QUEUED, f"{last}; re-queued", None
            else:
                state, reason, finished = FAILED, f"{last}; gave up after {attempts} of {max_attempts} attempts", now
            changed = session.execute(
                update(RunRow)
                .where(
                    RunRow.id == run_id, RunRow.state == RUNNING, RunRow.attempts == attempts, RunRow.worker == worker
                )
                .values(
                    state=state,
                    reason=reason,
                    worker=None,
                    finished_at=finished,
                    queued_at=now if state == QUEUED else RunRow.queued_at,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed == 1:
                done.append(Recovery(run_id, submission_id, state, reason))
    return done


def claim_next(store: Store, worker: str | None = None, *, now: dt.datetime | None = None) -> Claim | None:
    """Move the oldest queued run to ``running`` for ``worker``; None when the queue is empty."""
    worker = worker or worker_name()
    for _ in range(10):  # another worker may take the candidate between our read and our update
        now_ = now or utcnow()
        with store.transaction() as session:
            query = (
                select(RunRow.id, RunRow.submission_id, RunRow.attempts)
                .where(RunRow.state == QUEUED)
                .order_by(RunRow.queued_at, RunRow.id)
                .limit(1)
            )
            if store.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            found = session.execute(query).first()
            if found is None:
                return None
            run_id, submission_id, attempts = found
            changed = session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.state == QUEUED, RunRow.attempts == attempts)
                .values(
                    state=RUNNING,
                    attempts=attempts + 1,
                    worker=worker,
                    started_at=now_,
                    heartbeat_at=now_,
                    finished_at=None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed == 1:
                return Claim(run_id, submission_id, attempts + 1, worker)
    return None


def heartbeat(store: Store, claim: Claim, now: dt.datetime | None = None) -> bool:
    """Refresh the claim's heartbeat; False when the claim was lost."""
    with store.transaction() as session:
        return (
            session.execute(
                update(RunRow)
                .where(*_held(claim))
                .values(heartbeat_at=now or utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def _write_file(path: os.PathLike[str] | str, content: bytes) -> None:
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)


def complete(store: Store, claim: Claim, score: Scored) -> bool:
    """Store ``score`` and mark the run ``scored``, in one transaction; False (nothing written to
    the database) when the claim was lost. Metric values and artefacts replace any earlier ones,
    so scoring a submission again is idempotent."""
    for artefact in score.artefacts:  # files first: content-identical on a rescore, harmless if we lose
        _write_file(store.path(f"artefacts/{claim.submission_id}/{artefact.name}"), artefact.content)
    with store.transaction() as session:
        owned = session.execute(select(RunRow.id).where(*_held(claim)).with_for_update()).first()
        if owned is None:
            return False
        session.execute(delete(MetricValueRow).where(MetricValueRow.submission_id == claim.submission_id))
        session.execute(delete(ArtefactRow).where(ArtefactRow.submission_id == claim.submission_id))
        for metric in score.metrics:
            session.add(
                MetricValueRow(
                    submission_id=claim.submission_id, name=metric.name, value=metric.value, error=metric.error
                )
            )
        for artefact in score.artefacts:
            session.add(
                ArtefactRow(
                    submission_id=claim.submission_id,
                    name=artefact.name,
                    kind=artefact.kind,
                    title=artefact.title,
                    path=f"artefacts/{claim.submission_id}/{artefact.name}",
                    sha256=hashlib.sha256(artefact.content).hexdigest(),
                    truth=artefact.truth,
                )
            )
        session.execute(
            update(RunRow)
            .where(RunRow.id == claim.run_id)
            .values(state=SCORED, reason="", finished_at=utcnow(), heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def fail(store: Store, claim: Claim, reason: str) -> bool:
    """Mark the claimed run ``failed`` with ``reason``; False when the claim was lost."""
    with store.transaction() as session:
        return (
            session.execute(
                update(RunRow)
                .where(*_held(claim))
                .values(state=FAILED, reason=reason, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def requeue(store: Store, submission_id: int, reason: str = "re-queued by the organiser") -> None:
    """Queue a scored or failed submission again (e.g. after a scorer fix); attempts start over."""
    with store.transaction() as session:
        run = session.scalar(select(RunRow).where(RunRow.submission_id == submission_id).with_for_update())
        if run is None:
            raise ValueError(f"no submission {submission_id}")
        if run.state in (QUEUED, RUNNING):
            raise ValueError(f"submission {submission_id} is already {run.state}")
        run.state, run.reason, run.attempts, run.worker, run.queued_at = QUEUED, reason, 0, None, utcnow()


Scorer = Callable[[str, "os.PathLike[str]", "str | None", str], Scored]


def score_claim(
    store: Store,
    claim: Claim,
    *,
    scorer: Scorer | None = None,
    heartbeat_every: float = 10.0,
    backend: str = "bubblewrap",
) -> str:
    """Score the claimed submission and record the outcome; returns the run's new state
    (``scored``, ``failed``, or ``lost`` when another worker recovered the run meanwhile).

    The phase's secret data are made first when the phase makes them on first use; code
    submissions run in the ``backend`` sandbox under the phase's sandbox limits."""
    from .competition import ensure_phase_data
    from .phase_settings import load_limits, to_limits

    with store.transaction() as session:
        submission = session.get(SubmissionRow, claim.submission_id)
        assert submission is not None
        challenge, phase = submission.phase.challenge.slug, submission.phase
        payload, plan, label = (
            store.path(submission.payload_path),
            None if submission.is_baseline else phase.plan_path,
            f"{submission.method} ({submission.participant})",
        )
        phase_slug, limits_text = phase.slug, phase.sandbox_limits
        first_use = phase.data_preset is not None and not submission.is_baseline
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_every):
            if not heartbeat(store, claim):
                return

    beater = threading.Thread(target=beat, daemon=True, name=f"heartbeat-run-{claim.run_id}")
    beater.start()
    try:
        if first_use:  # the heartbeat runs on while this worker makes the data or waits for another's
            ensure_phase_data(store, challenge, phase_slug)
        if scorer is None:
            scorer = functools.partial(score_payload, backend=backend, limits=to_limits(load_limits(limits_text)))
        score = scorer(challenge, payload, plan, label)  # type: ignore[misc]
    except Exception as err:  # noqa: BLE001 - a bad payload fails its run with the reason, never the worker
        stop.set()
        # Our own failures already read as a reason; anything else keeps its type for the organiser.
        reason = str(err) if isinstance(err, PayloadError | RunFailed) else f"{type(err).__name__}: {err}"
        return FAILED if fail(store, claim, reason) else "lost"
    finally:
        stop.set()
        beater.join()
    from .phase_metrics import keep_outputs, refresh

    keep_outputs(store, claim.submission_id, score)  # files first, as complete() does
    if not complete(store, claim, score):
        return "lost"
    try:
        refresh(store, claim.submission_id)
    except Exception as err:  # noqa: BLE001 - the submission is scored; the phase metrics wait for the next one
        log.warning(
            "phase metrics after submission %s not recomputed: %s: %s", claim.submission_id, type(err).__name__, err
        )
    return SCORED


def work(
    store: Store,
    *,
    worker: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    stale_after: float = DEFAULT_STALE_AFTER,
    until_empty: bool = True,
    poll: float = 2.0,
    on_event: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    backend: str = "bubblewrap",
) -> dict[str, int]:
    """Recover stale runs, then score queued runs one by one (until the queue is empty, or until
    ``stop`` is set); code submissions run in the ``backend`` sandbox under their phase's sandbox
    limits. Returns how many runs ended in each state."""
    from ..submission_kit.runner import reap_sandbox_leftovers

    worker = worker or worker_name()
    counts = {SCORED: 0, FAILED: 0, "lost": 0, "recovered": 0}
    say = on_event or (lambda _message: None)
    leftovers = reap_sandbox_leftovers()  # a dead worker's sandboxes past their deadline
    if leftovers.get("stages_removed") or leftovers.get("containers_removed"):
        say(f"removed what dead runners left: {leftovers}")
    while stop is None or not stop.is_set():
        for recovery in recover_stale(store, max_attempts=max_attempts, stale_after=stale_after):
            counts["recovered"] += 1
            say(f"submission {recovery.submission_id}: {recovery.new_state} ({recovery.reason})")
        claim = claim_next(store, worker)
        if claim is None:
            if until_empty:
                break
            time.sleep(poll)
            continue
        outcome = score_claim(store, claim, backend=backend, heartbeat_every=max(0.5, stale_after / 4))
        counts[outcome] += 1
        say(f"submission {claim.submission_id}: {outcome} (attempt {claim.attempt})")
    return counts
