"""Phase settings: dates enforced at submission (library, HTTP, local ``hepbench submit``), per-phase
sandbox limits, and secret data made on first use (``init --preset``), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hepbench.cli.main import app
from hepbench.leaderboard.competition import apply_competition, phase_dir, preset_plans
from hepbench.leaderboard.db import current_revision, downgrade, head_revision, migrate
from hepbench.leaderboard.identities import add_identity
from hepbench.leaderboard.imports import add_records
from hepbench.leaderboard.models import FAILED, RUNNING, SCORED, PhaseRow, RunRow, SubmissionRow, utcnow
from hepbench.leaderboard.pages import index_page, phase_json, phase_page
from hepbench.leaderboard.phase_settings import PhaseClosedError, parse_limits, to_limits
from hepbench.leaderboard.queue import claim_next, score_claim, work
from hepbench.leaderboard.scoring import Scored
from hepbench.leaderboard.submissions import configure_phase, get_phase, submit
from hepbench.leaderboard.web import create_app
from hepbench.submission_kit.sandbox.limits import MIB

runner = CliRunner()
DAY = dt.timedelta(days=1)


@pytest.fixture
def answers(store, tmp_path):
    """The higgs-uncertainty public phase with a small test plan, and an answers file for it."""
    from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan

    plan = make_test_plan(2, 3, initial_seed=7)
    plan.to_json(tmp_path / "plan.json")
    configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json")
    table = plan.table[["set_index", "pe_index", "mu_true"]].copy()
    table["mu_hat"], table["delta_mu_hat"] = table["mu_true"], 0.3
    table["p16"], table["p84"] = table["mu_hat"] - 0.3, table["mu_hat"] + 0.3
    path = tmp_path / "answers.csv"
    table.drop(columns="mu_true").to_csv(path, index=False)
    return path


def stored(store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count(SubmissionRow.id))) or 0


def payload_files(store) -> list[Path]:
    folder = store.path("payloads")
    return sorted(folder.iterdir()) if folder.exists() else []


def test_submissions_before_during_and_after_the_phase(store, answers):
    start, end = dt.datetime(2027, 1, 10), dt.datetime(2027, 3, 1, 12)
    configure_phase(store, "higgs-uncertainty", "public", start=start, end=end)
    for now, message in (
        (start - dt.timedelta(minutes=1), "not open yet: it opens 2027-01-10 00:00 UTC, closes 2027-03-01 12:00 UTC"),
        (end, "is closed: it was open from 2027-01-10 00:00 UTC until 2027-03-01 12:00 UTC"),
        (end + DAY, "is closed"),
    ):
        with pytest.raises(PhaseClosedError, match="phase higgs-uncertainty/public") as refused:
            submit(store, "higgs-uncertainty", "public", "alice", "fit", answers, now=now)
        assert message in str(refused.value) and "\n" not in str(refused.value)
    assert stored(store) == 0 and payload_files(store) == []
    assert submit(store, "higgs-uncertainty", "public", "alice", "fit", answers, now=start).created
    assert submit(
        store, "higgs-uncertainty", "public", "bob", "fit", answers, now=end - dt.timedelta(seconds=1)
    ).created
    # Baselines are the organiser's: added whatever the dates.
    configure_phase(store, "higgs-uncertainty", "public", end=dt.datetime(2027, 1, 11))
    with store.transaction() as session:
        row = get_phase(session, "higgs-uncertainty", "public")
        assert (row.starts_at, row.ends_at) == (start, dt.datetime(2027, 1, 11))
    configure_phase(store, "higgs-uncertainty", "public", clear_dates=True)
    with store.transaction() as session:
        row = get_phase(session, "higgs-uncertainty", "public")
        assert (row.starts_at, row.ends_at) == (None, None)
    with pytest.raises(ValueError, match="is not after start"):
        configure_phase(store, "higgs-uncertainty", "public", start=end, end=start)


def _window(store, start: dt.datetime | None, end: dt.datetime | None) -> None:
    configure_phase(store, "higgs-uncertainty", "public", clear_dates=True, start=start, end=end)


def test_http_and_local_submit_are_refused_outside_the_dates(store, answers, monkeypatch):
    from hepbench.cli.output import console, err_console

    for printer in (console, err_console):  # the terminal's wrapping is not the message's
        monkeypatch.setattr(printer, "width", 400)
    _, token = add_identity(store, "Alice")
    web = TestClient(create_app(store))
    url = "/api/challenges/higgs-uncertainty/public/submissions?method=fit&format=csv"
    headers = {"Authorization": f"Bearer {token}"}
    monkeypatch.setenv("HEPBENCH_LEADERBOARD_DB", store.engine.url.render_as_string(hide_password=False))
    local = [
        "submit",
        "higgs-uncertainty",
        str(answers),
        "--method",
        "fit",
        "--token",
        token,
        "--home",
        str(store.home),
    ]
    now = utcnow()
    for start, end, words in ((now + DAY, now + 2 * DAY, "is not open yet"), (now - 2 * DAY, now - DAY, "is closed")):
        _window(store, start, end)
        answer = web.post(url, content=answers.read_bytes(), headers=headers)
        assert answer.status_code == 403, answer.text
        detail = answer.json()["detail"]
        assert f"phase higgs-uncertainty/public {words}" in detail
        assert f"{end:%Y-%m-%d %H:%M} UTC" in detail and f"{start:%Y-%m-%d %H:%M} UTC" in detail
        result = runner.invoke(app, local)
        assert result.exit_code == 1 and "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and words in lines[0], result.output
    assert stored(store) == 0 and payload_files(store) == []
    uploads = store.path("uploads")
    assert not uploads.exists() or not any(uploads.iterdir())
    _window(store, now - DAY, now + DAY)
    answer = web.post(url, content=answers.read_bytes(), headers=headers)
    assert answer.status_code == 201, answer.text
    assert stored(store) == 1


def test_phase_pages_show_the_dates(store, answers):
    now = utcnow()
    for start, end, shown in (
        (now + 3 * DAY + dt.timedelta(hours=1), None, "opens in 3 days"),
        (now - DAY, now + dt.timedelta(hours=5, minutes=5), "open; closes in 5 hours"),
        (None, now - DAY, f"closed on {now - DAY:%Y-%m-%d %H:%M} UTC"),
        (None, None, "open"),
    ):
        _window(store, start, end)
        html = phase_page(store, "higgs-uncertainty", "public").content.decode()
        assert f"Submissions: {shown}" in html, html.split('class="window', 1)[-1][:200]
        assert shown in index_page(store).content.decode()
        window = json.loads(phase_json(store, "higgs-uncertainty", "public").content)["window"]
        assert window["end"] == (end.isoformat() if end else None)


def test_sandbox_limits_are_checked_stored_and_merged(store):
    assert to_limits(parse_limits({"memory_mb": 64, "wall_seconds": 2.5}, "x")).memory_bytes == 64 * MIB
    for raw, field in (
        ({"memory": 64}, "x.memory: unknown limit"),
        ({"pids": 1.5}, "x.pids: a whole number"),
        ({"cpus": "many"}, "x.cpus: a number"),
        ({"wall_seconds": 0}, "x.wall_seconds: must be positive"),
        ({"memory_mb": 8}, "below 32 MiB"),
    ):
        with pytest.raises(ValueError, match=field):
            parse_limits(raw, "x")
    configure_phase(store, "lhco", "public", sandbox_limits={"memory_mb": 512})
    configure_phase(store, "lhco", "public", sandbox_limits={"wall_seconds": 30.0})
    with store.transaction() as session:
        assert json.loads(get_phase(session, "lhco", "public").sandbox_limits) == {
            "memory_mb": 512,
            "wall_seconds": 30.0,
        }
    configure_phase(store, "lhco", "public", clear_sandbox_limits=True)
    with store.transaction() as session:
        assert get_phase(session, "lhco", "public").sandbox_limits is None


def test_cli_sets_dates_and_limits_with_one_line_errors(tmp_path, monkeypatch):
    from hepbench.cli.output import console, err_console

    for printer in (console, err_console):
        monkeypatch.setattr(printer, "width", 400)
    home, db = tmp_path / "lb", f"sqlite:///{tmp_path / 'lb.db'}"
    base = ["leaderboard", "phase", "lhco", "public", "--home", str(home), "--db", db]
    assert runner.invoke(app, ["leaderboard", "init", "--home", str(home), "--db", db]).exit_code == 0
    ok = runner.invoke(
        app, [*base, "--start", "2027-01-10", "--end", "2027-03-01T12:00+01:00", "--limit", "memory_mb=512"]
    )
    assert ok.exit_code == 0, ok.output
    from hepbench.leaderboard.db import open_store

    opened = open_store(home, db)
    try:
        with opened.transaction() as session:
            row = get_phase(session, "lhco", "public")
            assert (row.starts_at, row.ends_at) == (dt.datetime(2027, 1, 10), dt.datetime(2027, 3, 1, 11))
            assert json.loads(row.sandbox_limits) == {"memory_mb": 512}
    finally:
        opened.close()
    for args, words in (
        (["--start", "10/01/2027"], "--start: not an ISO date"),
        (["--limit", "memory_mb"], "--limit 'memory_mb': KEY=VALUE"),
        (["--limit", "gpus=2"], "--limit.gpus: unknown limit"),
        (["--start", "2027-04-01"], "is not after start"),
    ):
        result = runner.invoke(app, [*base, *args])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 1 and len(lines) == 1 and words in lines[0], result.output


def test_upgrade_keeps_rows_of_an_existing_database(store, make_record):
    """Revision 0004 on a database of 0003 with phases and submissions in it."""
    add_records(store, [make_record("a", 0.1)])
    work(store)
    configure_phase(store, "higgs-uncertainty", "public", max_total=5)
    downgrade(store.engine, "0003")
    assert current_revision(store.engine) == "0003"
    migrate(store.engine)
    assert current_revision(store.engine) == head_revision()
    with store.transaction() as session:
        row = get_phase(session, "higgs-uncertainty", "public")
        assert row.max_total == 5 and (row.starts_at, row.ends_at, row.sandbox_limits, row.data_preset) == (
            None,
            None,
            None,
            None,
        )
        assert session.scalar(select(func.count(SubmissionRow.id))) == 1
        assert session.scalar(select(func.count(RunRow.id)).where(RunRow.state == SCORED)) == 1


# Data made on first use: `init --preset` records the preset and seed source only.


@pytest.fixture
def lazy(store, tmp_path):
    """``init --preset tiny`` on the store; a participant's lhco code bundle (the kit's template)."""
    from hepbench.submission_kit.bundles import bundle_folder
    from hepbench.submission_kit.runner import template_dir

    summary = apply_competition(store, preset_plans("tiny"))
    assert {row["data"] for row in summary} == {"on first use"}
    bundle = bundle_folder(template_dir("lhco"), tmp_path / "model.tar.gz")
    return bundle


def test_init_preset_makes_no_data_and_records_preset_and_seed_source(store, lazy):
    assert not store.path("phases").exists() or not any(store.path("phases").rglob("*.npy"))
    with store.transaction() as session:
        rows = session.scalars(select(PhaseRow)).all()
        assert rows and {(r.data_preset, r.data_seed_source) for r in rows} == {("tiny", "entropy")}
        assert all(r.plan_path and r.plan_path.endswith("/organiser") for r in rows)
    configure_phase(store, "lhco", "hidden", clear_plan=True)  # the organiser's own truth (or none) wins
    with store.transaction() as session:
        assert get_phase(session, "lhco", "hidden").data_preset is None


def test_concurrent_workers_make_the_data_once_and_reuse_them(store, lazy, monkeypatch):
    from hepbench.submission_kit import runner as kit

    made: list[int] = []
    real = kit.prepare_inputs

    def counted(*args, **kwargs):  # slow enough that the second worker arrives while the first writes
        made.append(threading.get_ident())
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(kit, "prepare_inputs", counted)
    for who in ("alice", "bob"):
        submit(store, "lhco", "public", who, "template", lazy)
    seen: dict[int, bool] = {}

    def scorer(challenge, payload, truth, label):  # the real data must be complete when scoring starts
        seen[threading.get_ident()] = (Path(truth) / "truth.npz").is_file() and (Path(truth).parent / "input").is_dir()
        return Scored()

    claims = [claim_next(store, f"w{i}") for i in range(2)]
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=lambda c=c: outcomes.append(score_claim(store, c, scorer=scorer, heartbeat_every=0.2)))
        for c in claims
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == [SCORED, SCORED] and len(made) == 1 and all(seen.values()) and len(seen) == 2
    folder = phase_dir(store, "lhco", "public")
    secrets = json.loads((folder / "organiser" / "secrets.json").read_text())
    assert isinstance(secrets["data_seed"], int)  # drawn from entropy, kept 0600 beside the truth
    # A later submission reuses them.
    submit(store, "lhco", "public", "carol", "template", lazy)
    assert score_claim(store, claim_next(store, "w3"), scorer=scorer) == SCORED
    assert len(made) == 1


def test_a_failure_to_make_the_data_fails_the_submission_with_one_line(store, lazy, monkeypatch):
    from hepbench.submission_kit import runner as kit

    def broken(challenge, run_dir, **options):
        (run_dir / "input").mkdir(parents=True)
        (run_dir / "input" / "half.npy").write_bytes(b"x")
        raise OSError("No space left on device\nsecond line")

    monkeypatch.setattr(kit, "prepare_inputs", broken)
    submitted = submit(store, "lhco", "public", "alice", "template", lazy)
    counts = work(store)
    assert counts[FAILED] == 1
    with store.transaction() as session:
        run = session.scalar(select(RunRow).where(RunRow.submission_id == submitted.submission_id))
        assert run.state == FAILED and "\n" not in run.reason
        assert run.reason == (
            "PhaseDataError: making the tiny data of phase lhco/public failed: OSError: No space left on device"
        )
        assert session.scalar(select(func.count(RunRow.id)).where(RunRow.state == RUNNING)) == 0
    assert not phase_dir(store, "lhco", "public").exists()  # nothing half-made is kept


@pytest.mark.slow  # ~15 s and root: the tiny lhco data of two phases, two runs under bubblewrap
def test_a_phase_with_a_tight_wall_limit_fails_the_run_while_another_phase_scores_it(
    bwrap_backend, sandbox_runs, tmp_path
):
    """``init --preset tiny``, then one code submission (the template, five seconds slower) to the
    public phase under ``--limit wall_seconds=3`` and to the hidden phase under the defaults; the
    worker makes each phase's data on first use and runs each under its phase's limits."""
    import shutil

    from hepbench.leaderboard.db import open_store
    from hepbench.submission_kit.runner import template_dir
    from hepbench.submission_kit.sandbox.workspace import make_run_root

    home = make_run_root(sandbox_runs, prefix="phase-limits-") / "home"  # the sandbox user reads the inputs
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    for args in (
        ["init", "--preset", "tiny"],
        ["phase", "lhco", "public", "--limit", "wall_seconds=3", "--limit", "memory_mb=2048"],
    ):
        result = runner.invoke(app, ["leaderboard", *args, "--home", str(home), "--db", db])
        assert result.exit_code == 0, result.output
    code = tmp_path / "slow-model"
    shutil.copytree(template_dir("lhco"), code)
    model = code / "model.py"
    model.write_text(model.read_text() + "\nimport time\n\ntime.sleep(5)  # past the public phase's 3 s\n")
    store = open_store(home, db)
    try:
        from hepbench.submission_kit.bundles import bundle_folder

        bundle = bundle_folder(code, tmp_path / "slow-model.tar.gz")
        sent = {
            phase: submit(store, "lhco", phase, "alice", "slow template", bundle).submission_id
            for phase in ("public", "hidden")
        }
        counts = work(store, backend="bubblewrap")
        with store.transaction() as session:
            reasons = session.scalars(select(RunRow.reason)).all()
        assert (counts[SCORED], counts[FAILED]) == (1, 1), (counts, reasons)
        with store.transaction() as session:
            runs = {
                phase: session.scalar(select(RunRow).where(RunRow.submission_id == submission_id))
                for phase, submission_id in sent.items()
            }
            public, hidden = runs["public"], runs["hidden"]
            assert public.state == FAILED and hidden.state == SCORED, (public.reason, hidden.reason)
            assert public.reason == "timeout: wall-clock limit of 3 s reached; the sandbox was killed"
        sandbox = json.loads(store.path(f"artefacts/{sent['hidden']}/sandbox.json").read_text())
        assert sandbox["backend"] == "bubblewrap" and 5 < sandbox["wall_seconds"] < 3600
        for phase in ("public", "hidden"):  # each phase's data, made by the worker on first use
            assert (phase_dir(store, "lhco", phase) / "phase.json").is_file()
    finally:
        store.close()
