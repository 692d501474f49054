"""The command tree, its shared options and error handling (commands live in their own modules)."""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .. import __version__, challenges
from ..extras import missing_extra_hint
from .output import check_output_path, console, err_console, printable

app = typer.Typer(
    name="hepbench",
    help="Benchmarks and challenges for machine learning in particle physics.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(
    help="Generate challenge data sets and validate them against real simulation.", no_args_is_help=True
)
baseline_app = typer.Typer(help="List and run the baseline methods of a challenge.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(baseline_app, name="baseline")


def _writable_json(path: Path | None) -> Path | None:
    """--json is checked before the work starts: a folder or an unwritable place fails at once."""
    if path is None:
        return None
    try:
        return check_output_path(path)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def writable_folder(path: Path | None) -> Path | None:
    """An output folder option is checked before the work starts (a file in its place fails at once)."""
    if path is None:
        return None
    try:
        return check_output_path(path, folder=True)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="Also write the numbers to this JSON file.", callback=_writable_json),
]
ChallengeArg = Annotated[str, typer.Argument(help=f"Challenge id: {', '.join(challenges.ids())}.")]
PresetOption = Annotated[str, typer.Option(help="Data size: tiny (tests), small (demo), full (anchor size).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the data generation.")]
DeviceOption = Annotated[str, typer.Option(help="auto | cpu | cuda.")]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]
DataDirOption = Annotated[
    Path | None, typer.Option("--data", help="Data folder from `hepbench data generate` (generated if absent).")
]
SetsOption = Annotated[
    int | None, typer.Option("--sets", help="Number of sets in the test plan (default: the preset's).")
]
PseudoExperimentsOption = Annotated[
    int | None, typer.Option("--pseudo-experiments", help="Pseudo-experiments per set (default: the preset's).")
]
PlanSeedOption = Annotated[int | None, typer.Option("--plan-seed", help="Initial seed of the test plan (default 0).")]
SchedulerOption = Annotated[
    str,
    typer.Option(
        "--scheduler",
        help="Where parallel work runs: serial (this process), local (worker processes on this machine), or a Dask scheduler address (tcp://host:8786) or scheduler file (*.json).",
    ),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", help="Worker processes of a local cluster (default: one per core).")
]
SizeOption = Annotated[
    str | None,
    typer.Option(
        "--size", help="Model configuration: tiny | small | full (default: the preset's, e.g. full for full-x4)."
    ),
]


def _one_line(err: BaseException) -> str:
    """The error's message on one line: HDF5 libraries put their call stack before the reason,
    which is the last line; an operating-system error reads as ``PATH: reason`` (a folder given
    where a file is expected: ``d1: is a folder, not a file``)."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        reason = "is a folder, not a file" if isinstance(err, IsADirectoryError) else err.strerror.lower()
        return f"{err.filename}: {reason}"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if len(lines) > 1 and "HDF5 error back trace" in lines[0]:
        return lines[-1]
    return " ".join(lines)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures (bad input, corrupt files) into a one-line message and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise  # a deliberate exit code (typer.Exit subclasses RuntimeError in recent typer)
        except ModuleNotFoundError as err:
            hint = missing_extra_hint(err)
            if hint is None:
                raise
            err_console.print(f"[bold red]error:[/bold red] {escape(hint)}")
            raise typer.Exit(code=1) from None
        except (ValueError, OSError, RuntimeError, KeyError, OverflowError, zipfile.BadZipFile) as err:
            err_console.print(f"[bold red]error:[/bold red] {escape(printable(_one_line(err)))}")
            raise typer.Exit(code=1) from None
        except Exception as err:  # an input no check anticipated, or a bug: still one line
            if os.environ.get("HEPBENCH_DEBUG"):
                raise
            message = f"{type(err).__name__}: {_one_line(err)} (unexpected; HEPBENCH_DEBUG=1 shows where)"
            err_console.print(f"[bold red]error:[/bold red] {escape(printable(message))}")
            raise typer.Exit(code=1) from None

    return wrapper


def version_callback(value: bool) -> None:
    if value:
        console.print(f"hepbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Benchmarks and challenges for machine learning in particle physics."""
