"""The ``hepbench`` command line: one verb tree for every challenge."""

from __future__ import annotations

from rich.table import Table

from .. import challenges
from . import baseline_cmd, data_cmd, demo_cmd, leaderboard_cmd, official_cmd, score_cmd, submission_cmd, submit_cmd  # noqa: F401  (register the commands)
from .apps import JsonOption, app
from .output import console, write_json

__all__ = ["app"]


@app.command("challenges")
def list_challenges(json_path: JsonOption = None) -> None:
    """List the challenges, their presets and ranking metrics."""
    table = Table(title="hepbench challenges")
    for column in ("id", "title", "presets", "ranked by"):
        table.add_column(column)
    rows = []
    for c in challenges.all():
        ranking = ", ".join(f"{m.name} ({'higher' if m.higher_is_better else 'lower'} is better)" for m in c.ranking)
        table.add_row(c.id, c.title, ", ".join(c.presets), ranking)
        rows.append(
            {
                "id": c.id,
                "title": c.title,
                "description": c.description,
                "presets": list(c.presets),
                "ranking": [m.__dict__ for m in c.ranking],
            }
        )
    console.print(table)
    write_json(json_path, rows)
