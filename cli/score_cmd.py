"""``hepbench score``: score a submission's outputs against the hidden truth (the challenge's scorer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import challenges
from .apps import ChallengeArg, JsonOption, app, handles_errors
from .output import console, write_json


def parse_options(pairs: list[str] | None) -> dict[str, object]:
    """``["KEY=VALUE", ...]`` as a dict; integers and floats become numbers."""
    options: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {pair!r}: expected KEY=VALUE")
        for kind in (int, float):
            try:
                options[key.replace("-", "_")] = kind(value)
                break
            except ValueError:
                continue
        else:
            options[key.replace("-", "_")] = value
    return options


@app.command("score")
@handles_errors
def score(
    challenge: ChallengeArg,
    outputs: Annotated[
        Path,
        typer.Argument(
            help="The submission's outputs: the folder a sandboxed run wrote, or a file "
            "(higgs-uncertainty: answers CSV / JSON; lhco: a black-box answer JSON; "
            "calo: generated showers, official HDF5)."
        ),
    ],
    truth: Annotated[
        Path | None,
        typer.Argument(
            help="The hidden truth: the organiser folder of the run, or a file "
            "(higgs-uncertainty: test plan JSON; lhco: the black box's "
            "organiser folder; calo: reference showers HDF5)."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Scorer option KEY=VALUE, repeatable "
            "(higgs-uncertainty: n_bootstrap; lhco: min_background, the fewest test "
            "background events a max-SIC cut keeps, default 25; calo: classifier, n_runs, "
            "plots, geometry).",
        ),
    ] = None,
    json_path: JsonOption = None,
) -> None:
    """Score a submission with the challenge's scorer; the record goes to --json. Exit 3 when some
    items of the submission failed (scored as the rules say)."""
    result = challenges.get(challenge).score(outputs, truth, **parse_options(option))
    for line in result.failures:
        console.print(f"[yellow]failed:[/yellow] {line}")
    for key, value in result.metrics.items():
        if isinstance(value, (int, float, bool, str)) or value is None:
            error = result.errors.get(key)
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            console.print(f"{key:>24}: {shown}" + (f" +- {error:.2g}" if isinstance(error, float) else ""))
    write_json(json_path, result.record("submission", outputs=outputs, truth=truth))
    if result.failures:
        raise typer.Exit(code=3)
