"""``hepbench submit`` and ``hepbench status``: a participant's submissions, to a server or a local home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .apps import ChallengeArg, JsonOption, app, handles_errors
from .output import console, shown, write_json

TokenOption = Annotated[
    str | None, typer.Option(envvar="HEPBENCH_TOKEN", help="Your token (default: $HEPBENCH_TOKEN).", show_default=False)
]
ServerOption = Annotated[str | None, typer.Option(help="The leaderboard's address, e.g. https://lb.example.org.")]


@app.command("submit")
@handles_errors
def submit(
    challenge: ChallengeArg,
    path: Annotated[
        Path, typer.Argument(help="Answers (CSV or JSON), a code bundle, or a folder with model.py (bundled for you).")
    ],
    method: Annotated[str, typer.Option(help="Name of your method.")],
    server: ServerOption = None,
    phase: Annotated[str, typer.Option(help="Phase: public or hidden.")] = "public",
    token: TokenOption = None,
    description: Annotated[str, typer.Option(help="One line about the method.")] = "",
    home: Annotated[Path, typer.Option(help="Without --server: the local leaderboard's folder.")] = Path(
        "hepbench-leaderboard"
    ),
    json_path: JsonOption = None,
) -> None:
    """Submit to a leaderboard: over HTTP with --server (progress bar), else to a local home."""
    if not token:
        raise ValueError("a token is needed: --token or $HEPBENCH_TOKEN (the organiser gives it to you)")
    from ..submission_kit.bundles import payload_file

    with payload_file(path) as payload:
        if payload != path:
            console.print(f"[dim]bundled the folder into {payload.name} ({payload.stat().st_size:,} bytes)[/dim]")
        answer = _send(challenge, phase, payload, method, description, token, server, home)
    state = "queued" if answer.get("created") else "already received (same payload)"
    console.print(f"submission {answer['submission']} {state}")
    write_json(json_path, answer)


def _send(
    challenge: str, phase: str, payload: Path, method: str, description: str, token: str, server: str | None, home: Path
) -> dict:
    """Upload ``payload`` to ``server`` (progress bar), else submit it to the local home."""
    if server is not None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        from ..leaderboard.client import upload

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"uploading {payload.name}", total=payload.stat().st_size)
            return upload(
                server,
                challenge,
                phase,
                payload,
                method=method,
                token=token,
                description=description,
                on_bytes=lambda n: bar.advance(task, n),
            )
    from ..leaderboard.db import open_store
    from ..leaderboard.submissions import submit as submit_local

    result = submit_local(
        open_store(home, create=False), challenge, phase, "", method, payload, description=description, token=token
    )
    return {"submission": result.submission_id, "created": result.created}


@app.command("status")
@handles_errors
def status(
    submission: Annotated[int | None, typer.Argument(help="One submission (default: all of yours).")] = None,
    server: Annotated[str, typer.Option(help="The leaderboard's address.")] = "http://127.0.0.1:8000",
    token: TokenOption = None,
    json_path: JsonOption = None,
) -> None:
    """Your submissions on a leaderboard server and their states (and scores where shown)."""
    from rich.table import Table

    from ..leaderboard.client import my_submissions

    if not token:
        raise ValueError("a token is needed: --token or $HEPBENCH_TOKEN")
    rows = [r for r in my_submissions(server, token) if submission is None or r["id"] == submission]
    if submission is not None and not rows:
        raise ValueError(f"you have no submission {submission}")
    table = Table(title="your submissions")
    for column in ("id", "challenge", "phase", "method", "state", "reason", "rank"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            *(
                shown(r.get(c) if r.get(c) is not None else "")
                for c in ("id", "challenge", "phase", "method", "state", "reason", "rank")
            )
        )
    console.print(table)
    write_json(json_path, rows)
