"""``hepbench leaderboard ...``: the store, the scoring queue, and the web site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .apps import JsonOption, app, handles_errors
from .output import console, shown, write_json

leaderboard_app = typer.Typer(
    help="Durable submissions, the scoring queue, rankings and the leaderboard web site.", no_args_is_help=True
)
app.add_typer(leaderboard_app, name="leaderboard")

HomeOption = Annotated[
    Path,
    typer.Option("--home", help="Folder of the leaderboard: payloads, artefacts and (by default) the SQLite database."),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db (default: $HEPBENCH_LEADERBOARD_DB, else HOME/leaderboard.db).",
    ),
]
ChallengeOpt = Annotated[str, typer.Argument(help="Challenge id.")]
PhaseOpt = Annotated[str, typer.Option("--phase", help="Phase (test split): public or hidden.")]

DEFAULT_HOME = Path("hepbench-leaderboard")


def _open(home: Path, db: str | None, *, create: bool = False) -> Any:
    """The leaderboard at ``home``; only ``init`` creates one (``create``), every other command
    refuses a home or database that holds none (a typo must not start an empty leaderboard)."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from ..leaderboard.db import open_store
    from ..leaderboard.submissions import sync_challenges

    try:
        store = open_store(home, db, create=create)
        sync_challenges(store)
    except ArgumentError as err:
        raise ValueError(f"--db {db!r}: not a database URL ({err})") from None
    except SQLAlchemyError as err:
        raise RuntimeError(
            f"cannot open the leaderboard database: {type(err).__name__}: {str(err).splitlines()[0]}"
        ) from None
    return store


def _work(store: Any, max_attempts: int, stale_after: float) -> dict[str, int]:
    from ..leaderboard.queue import work

    return work(
        store,
        max_attempts=max_attempts,
        stale_after=stale_after,
        on_event=lambda message: console.print(f"[dim]{message}[/dim]"),
    )


@leaderboard_app.command("init")
@handles_errors
def init(
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="competition.yaml declaring challenges and phases (dates, limits, sandbox limits, hidden, data "
            "preset, seed source); the phases' secret test data are created. Checked fully before anything is created.",
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="Without --config: every registered challenge's public and hidden phase, with secret test "
            "data of this preset (tiny | small | full) from entropy seeds, made by the first worker that needs them.",
        ),
    ] = None,
    json_path: JsonOption = None,
) -> None:
    """Create (or migrate) the store and the declared challenges and phases."""
    from ..leaderboard.db import current_revision

    if config is not None or preset is not None:
        from ..leaderboard.competition import init_competition

        phases = init_competition(
            config,
            lambda: _open(home, db, create=True),
            preset=preset,
            on_event=lambda message: console.print(f"[dim]{message}[/dim]"),
        )
        table = Table(title=f"competition from {config or f'--preset {preset}'}")
        columns = ("challenge", "phase", "hidden", "preset", "data", "start", "end", "max_total", "limits")
        for column in columns:
            table.add_column(column)
        for row in phases:
            table.add_row(*(str(row[c]) if row[c] is not None else "-" for c in columns))
        console.print(table)
        write_json(json_path, phases)
    store = _open(home, db, create=True)
    console.print(
        f"leaderboard at {home} (schema {current_revision(store.engine)}, "
        f"database {store.engine.url.render_as_string()})"
    )


@leaderboard_app.command("phase")
@handles_errors
def phase_settings(
    challenge: ChallengeOpt,
    phase: Annotated[str, typer.Argument(help="Phase: public or hidden.")],
    plan: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            "--plan",
            help="The phase's hidden truth that submissions are scored against: a file or the organiser folder the challenge's scorer reads (higgs-uncertainty: the test plan JSON).",
        ),
    ] = None,
    max_per_day: Annotated[int | None, typer.Option(help="Submissions per participant in any 24 hours.")] = None,
    max_total: Annotated[int | None, typer.Option(help="Submissions per participant in total.")] = None,
    no_limits: Annotated[
        bool, typer.Option("--no-limits", help="Remove both submission limits (per day, total).")
    ] = False,
    start: Annotated[
        str | None, typer.Option(help="Submissions open (ISO 8601 date or date-time, UTC), e.g. 2027-01-10T12:00.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Submissions close (ISO 8601, UTC); refused from then on.")] = None,
    no_dates: Annotated[bool, typer.Option("--no-dates", help="Remove both dates (always open).")] = False,
    limit: Annotated[
        list[str] | None,
        typer.Option(
            "--limit",
            help="A sandbox limit of the phase's code runs, KEY=VALUE (repeatable): wall_seconds, memory_mb, cpus, "
            "pids, output_mb, tmp_mb, file_size_mb.",
        ),
    ] = None,
    default_limits: Annotated[
        bool, typer.Option("--default-limits", help="Back to the sandbox's default limits (before any --limit).")
    ] = False,
    clear_plan: Annotated[bool, typer.Option("--clear-plan", help="Forget the phase's hidden truth.")] = False,
    reveal: Annotated[
        bool | None,
        typer.Option(
            "--reveal/--hide",
            help="Close the phase: show its scores if hidden, and the plots and tables derived from its truth "
            "(or hide them again).",
        ),
    ] = None,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Organiser settings of a phase: hidden truth, participant limits, dates, sandbox limits,
    revealing hidden scores."""
    from ..leaderboard.phase_settings import parse_limit_options, parse_when
    from ..leaderboard.submissions import configure_phase

    store = _open(home, db)
    configure_phase(
        store,
        challenge,
        phase,
        plan=plan,
        max_per_day=max_per_day,
        max_total=max_total,
        revealed=reveal,
        clear_limits=no_limits,
        clear_plan=clear_plan,
        start=parse_when(start, "--start"),
        end=parse_when(end, "--end"),
        clear_dates=no_dates,
        sandbox_limits=parse_limit_options(limit or []),
        clear_sandbox_limits=default_limits,
    )
    console.print(f"updated {challenge}/{phase}")


@leaderboard_app.command("submit")
@handles_errors
def submit_cmd(
    challenge: ChallengeOpt,
    payload: Annotated[Path, typer.Argument(help="Answers file (CSV or JSON).")],
    method: Annotated[str, typer.Option(help="Name of the method.")],
    participant: Annotated[
        str | None, typer.Option(help="Who submits, for an unregistered name (registered ones use --token).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="HEPBENCH_TOKEN", help="The participant's token (default: $HEPBENCH_TOKEN).", show_default=False
        ),
    ] = None,
    phase: PhaseOpt = "public",
    description: Annotated[str, typer.Option(help="One line about the method.")] = "",
    score: Annotated[bool, typer.Option("--score/--no-score", help="Score the queue right away.")] = False,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Submit answers to a phase; they are stored, then queued for scoring."""
    from ..leaderboard.submissions import submit

    if token is None and participant is None:
        raise ValueError("give --token (or $HEPBENCH_TOKEN), or --participant for an unregistered name")
    store = _open(home, db)
    result = submit(store, challenge, phase, participant or "", method, payload, description=description, token=token)
    console.print(
        f"submission {result.submission_id} " + ("queued" if result.created else "already received (same payload)")
    )
    if score:
        _work(store, 3, 120.0)


participant_app = typer.Typer(
    help="Identities that may submit: add (prints the token once), revoke, list.", no_args_is_help=True
)
leaderboard_app.add_typer(participant_app, name="participant")


@participant_app.command("add")
@handles_errors
def participant_add(
    name: Annotated[str, typer.Argument(help="The participant's name, as shown on the leaderboard.")],
    email: Annotated[str, typer.Option(help="How to reach them.")] = "",
    organiser: Annotated[bool, typer.Option("--organiser", help="An organiser's identity.")] = False,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Register a participant; their token is printed once (only its hash is kept)."""
    from ..leaderboard.identities import add_identity

    identity, token = add_identity(_open(home, db), name, email=email, role="organiser" if organiser else "participant")
    console.print(f"{identity.role} {shown(repr(identity.name))} added; token (shown once, give it to them privately):")
    print(token)


@participant_app.command("revoke")
@handles_errors
def participant_revoke(
    name: Annotated[str, typer.Argument(help="The participant's name (any spelling of it).")],
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Revoke a participant's token: it authenticates nothing from now on."""
    from ..leaderboard.identities import revoke

    identity = revoke(_open(home, db), name)
    console.print(f"the token of {shown(repr(identity.name))} is revoked")


@participant_app.command("list")
@handles_errors
def participant_list(home: HomeOption = DEFAULT_HOME, db: DbOption = None, json_path: JsonOption = None) -> None:
    """The registered identities (never their tokens)."""
    from rich.table import Table

    from ..leaderboard.identities import list_identities

    rows = list_identities(_open(home, db))
    table = Table(title="participants")
    for column in ("name", "role", "email", "created", "revoked"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(shown(row[c] or "") for c in ("name", "role", "email", "created", "revoked")))
    console.print(table)
    write_json(json_path, rows)


@leaderboard_app.command("add-results")
@handles_errors
def add_results_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="JSON from `hepbench baseline run|compare --json` or `hepbench demo --json`.")
    ],
    phase: PhaseOpt = "public",
    participant: Annotated[str, typer.Option(help="Name shown for these baselines.")] = "hepbench baselines",
    score: Annotated[bool, typer.Option("--score/--no-score", help="Score the queue right away.")] = True,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Import baseline run records as baseline submissions (and score them); the first import
    creates the leaderboard."""
    from ..leaderboard.imports import add_records
    from ..records import load_records

    records = {path: load_records(path) for path in files}  # every file read before the store is made
    store = _open(home, db, create=True)
    for path, found in records.items():
        added = add_records(store, found, phase=phase, participant=participant, source=str(path))
        new = sum(a.created for a in added)
        console.print(f"{path}: {len(added)} record(s), {new} new, {len(added) - new} already present")
    if score:
        _work(store, 3, 120.0)


@leaderboard_app.command("work")
@handles_errors
def work_cmd(
    max_attempts: Annotated[int, typer.Option(help="Attempts before a run whose worker died is failed.")] = 3,
    stale_after: Annotated[
        float, typer.Option(help="Seconds without a heartbeat after which a running run is presumed dead.")
    ] = 120.0,
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep polling the queue instead of stopping when it is empty.")
    ] = False,
    backend: Annotated[str, typer.Option(help="Sandbox of code submissions: bubblewrap | docker.")] = "bubblewrap",
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Score queued submissions (re-queuing the runs of crashed workers first); code submissions
    run in the sandbox on the phase's inputs."""
    from ..leaderboard.queue import work
    from ..submission_kit.sandbox import BACKENDS

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {sorted(BACKENDS)}")
    store = _open(home, db)
    counts = work(
        store,
        max_attempts=max_attempts,
        stale_after=stale_after,
        until_empty=not forever,
        on_event=lambda message: console.print(message),
        backend=backend,
    )
    console.print(", ".join(f"{k} {v}" for k, v in counts.items()))


@leaderboard_app.command("requeue")
@handles_errors
def requeue_cmd(
    submission: Annotated[int, typer.Argument(help="Submission id.")],
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Queue a scored or failed submission again (its new score replaces the old one)."""
    from ..leaderboard.queue import requeue

    requeue(_open(home, db), submission)
    console.print(f"submission {submission} queued")


@leaderboard_app.command("show")
@handles_errors
def show(
    challenge: ChallengeOpt,
    phase: PhaseOpt = "public",
    organiser: Annotated[bool, typer.Option(help="Show a hidden phase's scores too.")] = False,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
    json_path: JsonOption = None,
) -> None:
    """Print a phase's leaderboard."""
    from ..leaderboard.pages import _board_json
    from ..leaderboard.ranking import board

    b = board(_open(home, db), challenge, phase, organiser=organiser)
    table = Table(title=f"{challenge} / {phase}" + ("" if b.visible else " (scores hidden)"))
    names = [m.name for m in b.challenge.ranking]
    for column in ("#", "method", "participant", *names, "state"):
        table.add_column(column, justify="right" if column in names else "left")
    for e in b.ranked + b.pending:
        cells = []
        for name in names:
            value, error = e.metrics.get(name, (None, None))
            cells.append("" if value is None else f"{value:.3f}" + ("" if error is None else f" ± {error:.3f}"))
        table.add_row(
            str(e.rank or ""),
            shown(e.method) + (" (baseline)" if e.is_baseline else ""),
            shown(e.participant),
            *cells,
            e.state + (f": {shown(e.reason)}" if e.reason and e.state != "scored" else ""),
        )
    console.print(table)
    write_json(json_path, _board_json(b))


@leaderboard_app.command("build")
@handles_errors
def build(
    out: Annotated[Path, typer.Option(help="Folder of the static site (index.html at its top).")] = Path(
        "leaderboard-site"
    ),
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Write the leaderboard as a static site for any web host."""
    from ..leaderboard.pages import build_site

    index = build_site(_open(home, db), out)
    console.print(f"wrote {index}")


@leaderboard_app.command("serve")
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    home: HomeOption = DEFAULT_HOME,
    db: DbOption = None,
) -> None:
    """Serve the leaderboard pages and the JSON API (/api/...) with uvicorn."""
    import uvicorn

    from ..leaderboard.web import create_app

    app = create_app(_open(home, db))  # a mistyped home fails before "serving" is printed
    console.print(f"serving http://{host}:{port}/ (API under /api/, docs at /api/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
