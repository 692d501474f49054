"""Leaderboard store: migrations, baseline imports, submissions and their limits (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from hepbench.leaderboard.db import current_revision, downgrade, head_revision, migrate, open_store
from hepbench.leaderboard.imports import add_results
from hepbench.leaderboard.models import QUEUED, SCORED, Base, MetricValueRow, RunRow, SubmissionRow
from hepbench.leaderboard.queue import work
from hepbench.leaderboard.submissions import SubmissionLimitError, configure_phase, sha256_file, submit
from hepbench.records import RecordError, load_records

REPO = Path(__file__).resolve().parents[1]
BDT_RECORD = REPO / "docs" / "results" / "higgs_bdt_template_fit_small_10x50.json"


def test_schema_is_at_the_shipped_head_and_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"the models and the migrations disagree: {diff}"


def test_downgrade_and_upgrade_again(store):
    downgrade(store.engine, "base")
    assert current_revision(store.engine) is None
    assert "submissions" not in inspect(store.engine).get_table_names()
    migrate(store.engine)
    assert current_revision(store.engine) == head_revision()


def test_migrations_ship_inside_the_package():
    from hepbench.leaderboard.db import MIGRATIONS

    assert (MIGRATIONS / "env.py").exists() and (MIGRATIONS / "script.py.mako").exists()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"hepbench.leaderboard.migrations.versions"' in pyproject and "script.py.mako" in pyproject


def test_baseline_record_is_rescored_to_its_own_metrics(store):
    """Importing a real baseline record rescores its 500 pseudo-experiments: same metrics, bootstrap errors."""
    record = json.loads(BDT_RECORD.read_text())
    added = add_results(store, BDT_RECORD)
    assert [a.created for a in added] == [True]
    assert work(store)["scored"] == 1
    with store.transaction() as session:
        metrics = {m.name: m for m in session.scalars(select(MetricValueRow))}
        submission = session.scalars(select(SubmissionRow)).one()
        assert submission.is_baseline and submission.method == "bdt-template-fit"
        assert submission.run.state == SCORED and submission.run.attempts == 1
    for name in ("coverage_score", "width", "coverage", "rmse", "mae"):
        assert metrics[name].value == pytest.approx(record["metrics"][name], rel=1e-12)
    for name in ("coverage_score", "width", "coverage"):
        assert metrics[name].error == pytest.approx(record["metrics"]["bootstrap"][name]["std"], rel=1e-9)
    assert metrics["rmse"].error is None
    assert metrics["auc"].value == pytest.approx(record["metrics"]["auc"])
    assert metrics["train_seconds"].value == pytest.approx(record["train_seconds"])
    # importing the same file again adds nothing
    assert [a.created for a in add_results(store, BDT_RECORD)] == [False]


def test_comparison_and_demo_files_import_every_record(store, tmp_path, make_record):
    records = [make_record(f"m{i}", 0.1 * i) for i in range(3)]
    comparison = tmp_path / "compare.json"
    comparison.write_text(json.dumps({"challenge": "higgs-uncertainty", "results": records}))
    demo = tmp_path / "demo-results.json"
    stripped = [{k: v for k, v in r.items() if k not in ("challenge", "pseudo_experiments")} for r in records]
    demo.write_text(json.dumps({"preset": "small", "seed": 0, "challenges": {"higgs-uncertainty": stripped}}))
    assert len(load_records(comparison)) == 3 and len(load_records(demo)) == 3
    assert sum(a.created for a in add_results(store, comparison)) == 3
    assert sum(a.created for a in add_results(store, demo, participant="demo")) == 3
    assert work(store)["scored"] == 6


def _write(path: Path, payload) -> Path:
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


@pytest.mark.parametrize(
    "payload, message",
    [
        ('{"method": "x", ', "not valid JSON (line 1"),
        ([1, 2], "not a run record"),
        ({"challenge": "nope", "method": "x", "metrics": {}}, "field challenge is 'nope'"),
        ({"challenge": "higgs-uncertainty", "method": "", "metrics": {}}, "field method must be a non-empty string"),
        (
            {"challenge": "higgs-uncertainty", "method": "x", "metrics": {"width": 1, "mae": 1}},
            "field metrics.coverage_score is missing",
        ),
        (
            {
                "challenge": "higgs-uncertainty",
                "method": "x",
                "metrics": {"coverage_score": "high", "width": 1, "mae": 1},
            },
            "field metrics.coverage_score must be a number",
        ),
        (
            {
                "challenge": "higgs-uncertainty",
                "results": [
                    {
                        "method": "x",
                        "metrics": {"coverage_score": 1, "width": 1, "mae": 1},
                        "pseudo_experiments": [{"set_index": 0, "mu_true": 1.0, "p16": 0.5}],
                    }
                ],
            },
            "field results[0].pseudo_experiments[0].p84 is missing",
        ),
        ({"challenges": {"higgs-uncertainty": {"method": "x"}}}, "field challenges.higgs-uncertainty must be a list"),
    ],
)
def test_malformed_results_name_the_file_and_field(tmp_path, payload, message):
    path = _write(tmp_path / "results.json", payload)
    with pytest.raises(RecordError) as err:
        load_records(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_cli_reports_a_malformed_results_file(tmp_path):
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    bad = _write(tmp_path / "bad.json", {"challenge": "higgs-uncertainty", "method": "x", "metrics": {"width": 1}})
    result = CliRunner().invoke(
        app,
        [
            "leaderboard",
            "add-results",
            str(bad),
            "--home",
            str(tmp_path / "lb"),
            "--db",
            f"sqlite:///{tmp_path / 'lb.db'}",
        ],
    )
    assert result.exit_code == 1
    assert "bad.json" in result.output and "metrics.coverage_score is missing" in result.output


@pytest.fixture
def answers_phase(store, tmp_path):
    """The public phase with a small test plan; returns a function writing answers to it."""
    from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan

    plan = make_test_plan(3, 4, initial_seed=7)
    plan_path = tmp_path / "plan.json"
    plan.to_json(plan_path)
    configure_phase(store, "higgs-uncertainty", "public", plan=plan_path)

    def answers(name: str, shift: float = 0.0, half_width: float = 0.3) -> Path:
        table = plan.table[["set_index", "pe_index", "mu_true"]].copy()
        table["mu_hat"] = table["mu_true"] + shift
        table["delta_mu_hat"] = half_width
        table["p16"], table["p84"] = table["mu_hat"] - half_width, table["mu_hat"] + half_width
        path = tmp_path / f"{name}.csv"
        table.drop(columns="mu_true").to_csv(path, index=False)
        return path

    return answers


def test_submission_is_persisted_and_queued_before_scoring(store, answers_phase):
    payload = answers_phase("a")
    result = submit(store, "higgs-uncertainty", "public", "alice", "my-fit", payload)
    with store.transaction() as session:
        submission = session.get(SubmissionRow, result.submission_id)
        assert submission.run.state == QUEUED and submission.run.attempts == 0
        assert submission.payload_sha256 == sha256_file(payload)
        stored = store.path(submission.payload_path)
    assert stored.read_bytes() == payload.read_bytes()
    payload.unlink()  # the store keeps its own copy
    assert work(store)["scored"] == 1


def test_answers_are_scored_against_the_plan(store, answers_phase):
    submit(store, "higgs-uncertainty", "public", "alice", "exact", answers_phase("exact"))
    submit(store, "higgs-uncertainty", "public", "bob", "biased", answers_phase("biased", shift=1.0))
    work(store)
    with store.transaction() as session:
        values = {(s.method, m.name): m.value for s in session.scalars(select(SubmissionRow)) for m in s.metrics}
    assert values[("exact", "coverage")] == 1.0 and values[("biased", "coverage")] == 0.0
    assert values[("exact", "width")] == pytest.approx(0.6)
    assert values[("exact", "n_failed")] == 0


def test_participant_limits_per_day_and_total(store, answers_phase):
    configure_phase(store, "higgs-uncertainty", "public", max_per_day=2, max_total=3)
    day0 = dt.datetime(2026, 1, 1, 12, 0)
    submit(store, "higgs-uncertainty", "public", "alice", "m", answers_phase("a1"), now=day0)
    submit(
        store, "higgs-uncertainty", "public", "alice", "m", answers_phase("a2", 0.1), now=day0 + dt.timedelta(hours=1)
    )
    with pytest.raises(
        SubmissionLimitError,
        match=r"'alice' has made 2 submissions .* in the last 24 hours; "
        r"the limit is 2 per day \(next one allowed after 2026-01-02 12:00",
    ):
        submit(
            store,
            "higgs-uncertainty",
            "public",
            "alice",
            "m",
            answers_phase("a3", 0.2),
            now=day0 + dt.timedelta(hours=2),
        )
    # someone else is not affected; the same payload again is not a new submission
    submit(store, "higgs-uncertainty", "public", "bob", "m", answers_phase("a3", 0.2), now=day0 + dt.timedelta(hours=2))
    again = submit(
        store, "higgs-uncertainty", "public", "alice", "m", answers_phase("a1"), now=day0 + dt.timedelta(hours=3)
    )
    assert not again.created
    submit(
        store,
        "higgs-uncertainty",
        "public",
        "alice",
        "m",
        answers_phase("a4", 0.3),
        now=day0 + dt.timedelta(days=1, hours=1),
    )
    with pytest.raises(
        SubmissionLimitError, match="has made 3 submissions to higgs-uncertainty/public; the limit is 3 in total"
    ):
        submit(
            store,
            "higgs-uncertainty",
            "public",
            "alice",
            "m",
            answers_phase("a5", 0.4),
            now=day0 + dt.timedelta(days=5),
        )
    with store.transaction() as session:
        assert session.scalar(select(func.count(RunRow.id))) == 4


def test_baselines_need_no_plan_but_participants_do(store, tmp_path, make_record):
    path = _write(tmp_path / "answers.json", make_record("x", 0.0))
    with pytest.raises(ValueError, match="has no hidden truth yet: only baseline run records"):
        submit(store, "higgs-uncertainty", "public", "alice", "x", path)
    assert submit(store, "higgs-uncertainty", "public", "hepbench baselines", "x", path, is_baseline=True).created


def test_bad_answers_are_rejected_at_submission(store, answers_phase, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("set_index,pe_index,mu_hat\n0,0,1.0\n")
    with pytest.raises(ValueError, match=r"bad.csv: missing column\(s\) \['delta_mu_hat', 'p16', 'p84'\]"):
        submit(store, "higgs-uncertainty", "public", "alice", "m", bad)


def test_open_store_without_upgrade_refuses_an_empty_database(tmp_path):
    with pytest.raises(RuntimeError, match="no leaderboard schema"):
        open_store(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", upgrade=False)


def test_cli_names_a_bad_database_url(tmp_path):
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    result = CliRunner().invoke(app, ["leaderboard", "init", "--home", str(tmp_path), "--db", "not-a-url"])
    assert result.exit_code == 1 and "--db 'not-a-url': not a database URL" in result.output


def test_concurrent_submissions_cannot_slip_under_a_limit(store, answers_phase):
    import threading

    configure_phase(store, "higgs-uncertainty", "public", max_total=2)
    payloads = [answers_phase(f"c{i}", shift=0.01 * i) for i in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(payloads))

    def send(path: Path) -> None:
        barrier.wait()
        try:
            submit(store, "higgs-uncertainty", "public", "carol", "m", path)
            outcomes.append("accepted")
        except SubmissionLimitError:
            outcomes.append("refused")

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted"] * 2 + ["refused"] * 4
