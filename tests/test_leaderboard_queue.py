"""The scoring queue: durable states, a worker killed mid-run, concurrent workers, idempotent rescoring."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hepbench.leaderboard import queue
from hepbench.leaderboard.imports import add_records, add_results
from hepbench.leaderboard.models import (
    FAILED,
    QUEUED,
    RUNNING,
    SCORED,
    ArtefactRow,
    MetricValueRow,
    RunRow,
    SubmissionRow,
    utcnow,
)
from hepbench.leaderboard.submissions import configure_phase, submit

REPO = Path(__file__).resolve().parents[1]
BDT_RECORD = REPO / "docs" / "results" / "higgs_bdt_template_fit_small_10x50.json"
LATER = dt.timedelta(seconds=queue.DEFAULT_STALE_AFTER + 60)


def runs(store) -> dict[int, RunRow]:
    with store.transaction() as session:
        return {r.submission_id: r for r in session.scalars(select(RunRow))}


def _add(store, make_record, n: int) -> list[int]:
    return [a.submission_id for a in add_records(store, [make_record(f"m{i}", i / 10) for i in range(n)])]


def _start_doomed_worker(store, tmp_path: Path, scorer_sleep: float = 600) -> subprocess.Popen:
    """A real worker process (``queue.work``) whose scoring hangs, so it can be killed mid-run."""
    script = tmp_path / "doomed_worker.py"
    script.write_text(
        textwrap.dedent(f"""
        import time
        from pathlib import Path
        from hepbench.leaderboard import queue
        from hepbench.leaderboard.db import open_store

        def hang(*args, **kwargs):
            time.sleep({scorer_sleep})

        queue.score_payload = hang
        store = open_store(Path({str(store.home)!r}), {store.engine.url.render_as_string(hide_password=False)!r})
        queue.work(store, worker="doomed-worker")
    """)
    )
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_state(store, submission_id: int, state: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while runs(store)[submission_id].state != state:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, f"submission {submission_id} never reached {state}"
        time.sleep(0.1)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


def test_killed_worker_run_is_requeued_once_then_scored(store, tmp_path, make_record):
    [sid] = _add(store, make_record, 1)
    proc = _start_doomed_worker(store, tmp_path)
    try:
        _wait_for_state(store, sid, RUNNING, proc)
    finally:
        _kill(proc)
    run = runs(store)[sid]
    assert run.state == RUNNING and run.attempts == 1 and run.worker == "doomed-worker"
    # a fresh heartbeat means a live worker: nothing is taken from it
    assert queue.recover_stale(store) == []
    recovered = queue.recover_stale(store, now=utcnow() + LATER)
    assert [(r.submission_id, r.new_state) for r in recovered] == [(sid, QUEUED)]
    assert "doomed-worker stopped during attempt 1" in recovered[0].reason and "re-queued" in recovered[0].reason
    assert queue.recover_stale(store, now=utcnow() + 2 * LATER) == []  # exactly once
    assert queue.work(store)["scored"] == 1
    run = runs(store)[sid]
    assert run.state == SCORED and run.attempts == 2 and run.reason == ""


def test_run_fails_with_its_reason_after_max_attempts(store, tmp_path, make_record):
    [sid] = _add(store, make_record, 1)
    for attempt in (1, 2):
        proc = _start_doomed_worker(store, tmp_path)
        try:
            _wait_for_state(store, sid, RUNNING, proc)
        finally:
            _kill(proc)
        recovered = queue.recover_stale(store, max_attempts=2, now=utcnow() + LATER)
        assert [r.new_state for r in recovered] == [QUEUED if attempt == 1 else FAILED]
    run = runs(store)[sid]
    assert run.state == FAILED and run.attempts == 2 and run.finished_at is not None
    assert "gave up after 2 of 2 attempts" in run.reason
    assert queue.claim_next(store) is None  # a failed run is never picked up again


def test_heartbeat_keeps_a_slow_run_from_being_recovered(store, make_record):
    [sid] = _add(store, make_record, 1)
    real = queue.score_payload

    def slow(*args):
        time.sleep(2.0)
        return real(*args)

    claim = queue.claim_next(store, "slow-worker")
    done: list[str] = []
    worker = threading.Thread(
        target=lambda: done.append(queue.score_claim(store, claim, scorer=slow, heartbeat_every=0.2))
    )
    worker.start()
    recovered = []
    while worker.is_alive():
        recovered += queue.recover_stale(store, stale_after=1.0)
        time.sleep(0.2)
    worker.join()
    assert recovered == [] and done == [SCORED]
    assert runs(store)[sid].attempts == 1


def test_concurrent_workers_claim_each_run_exactly_once(store, make_record):
    ids = _add(store, make_record, 12)
    claims: list[queue.Claim] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def drain(name: str) -> None:
        barrier.wait()
        while (claim := queue.claim_next(store, name)) is not None:
            with lock:
                claims.append(claim)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.submission_id for c in claims) == sorted(ids)
    assert all(r.state == RUNNING and r.attempts == 1 for r in runs(store).values())


def test_concurrent_recovery_requeues_each_run_once(store, make_record):
    ids = _add(store, make_record, 6)
    while queue.claim_next(store, "dead-worker") is not None:
        pass
    results: list[queue.Recovery] = []
    barrier = threading.Barrier(4)

    def recover() -> None:
        barrier.wait()
        results.extend(queue.recover_stale(store, now=utcnow() + LATER))

    threads = [threading.Thread(target=recover) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.submission_id for r in results) == sorted(ids)
    assert {r.state for r in runs(store).values()} == {QUEUED}


def test_a_worker_that_lost_its_claim_cannot_write(store, make_record):
    [sid] = _add(store, make_record, 1)
    first = queue.claim_next(store, "presumed-dead")
    queue.recover_stale(store, now=utcnow() + LATER)
    second = queue.claim_next(store, "successor")
    assert (first.attempt, second.attempt) == (1, 2)
    assert queue.score_claim(store, first) == "lost"
    assert not queue.fail(store, first, "too late")
    assert not queue.heartbeat(store, first)
    assert queue.score_claim(store, second) == SCORED
    run = runs(store)[sid]
    assert run.state == SCORED and run.worker == "successor"


def test_scoring_a_submission_twice_is_idempotent(store):
    [added] = add_results(store, BDT_RECORD)
    assert queue.work(store)["scored"] == 1
    assert queue.work(store) == {"scored": 0, "failed": 0, "lost": 0, "recovered": 0}  # nothing left to do

    def snapshot():
        with store.transaction() as session:
            metrics = sorted((m.name, m.value, m.error) for m in session.scalars(select(MetricValueRow)))
            artefacts = sorted((a.name, a.sha256) for a in session.scalars(select(ArtefactRow)))
        return metrics, artefacts

    before = snapshot()
    assert {name for name, _ in before[1]} == {
        "coverage_per_set.png",
        "intervals.png",
        "score.json",
        "pseudo_experiments.json",
    }
    queue.requeue(store, added.submission_id)
    assert runs(store)[added.submission_id].state == QUEUED
    assert queue.work(store)["scored"] == 1
    assert snapshot() == before
    for name, sha in before[1]:
        assert hashlib.sha256(store.path(f"artefacts/{added.submission_id}/{name}").read_bytes()).hexdigest() == sha


def test_unscorable_payload_fails_with_the_reason(store, tmp_path):
    from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan

    plan = make_test_plan(2, 2, initial_seed=1)
    plan_path = tmp_path / "plan.json"
    plan.to_json(plan_path)
    configure_phase(store, "higgs-uncertainty", "public", plan=plan_path)
    answers = plan.table[["set_index", "pe_index"]].assign(mu_hat=1.0, delta_mu_hat=0.1, p16=0.9, p84=1.1)
    answers.to_csv(tmp_path / "answers.csv", index=False)
    sid = submit(store, "higgs-uncertainty", "public", "alice", "m", tmp_path / "answers.csv").submission_id
    plan_path.unlink()  # the organiser's plan disappears between submission and scoring
    assert queue.work(store)["failed"] == 1
    run = runs(store)[sid]
    assert run.state == FAILED and "plan.json: the phase's hidden truth is missing" in run.reason
    queue.requeue(store, sid)  # the organiser puts it back once the plan is restored
    with pytest.raises(ValueError, match=f"submission {sid} is already queued"):
        queue.requeue(store, sid)


def test_run_states_survive_reopening_the_store(store, make_record):
    """Everything is in the database: a new process (here: a new engine) sees the same queue."""
    from hepbench.leaderboard.db import open_store

    ids = _add(store, make_record, 3)
    queue.claim_next(store, "w")
    reopened = open_store(store.home, store.engine.url.render_as_string(hide_password=False))
    try:
        states = sorted(r.state for r in runs(reopened).values())
        assert states == [QUEUED, QUEUED, RUNNING] and len(ids) == 3
        with reopened.transaction() as session:
            relative = session.get(SubmissionRow, ids[0]).payload_path
        payload = json.loads(reopened.path(relative).read_text())
        assert payload["method"] == "m0"
    finally:
        reopened.close()
