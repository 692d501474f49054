"""JSON and console helpers shared by the library and the command line.

``jsonable`` turns numpy scalars, paths and non-finite floats into plain JSON; ``write_json``
writes atomically. ``console`` is where long work shows its progress (rich spinners, bars).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

# Tables stay readable when the output is a file or a pipe (rich would fall back to 80 columns).
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

LOG_EVERY_SECONDS = 30.0
"""Away from a terminal (a log file), long work prints a progress line at most this often."""


@contextlib.contextmanager
def progress(description: str, total: int, *, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Progress of ``total`` steps: a bar (with ETA) on a terminal; elsewhere (a log file) a line
    at most every :data:`LOG_EVERY_SECONDS`, so that short work (tests, worker processes) stays
    quiet and long work can be followed. Yields ``advance(steps=1, note="")``; ``note`` (e.g.
    the loss) is shown beside the count."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(),
    )
    started = last = time.monotonic()
    done = 0
    with Progress(*columns, console=console, transient=True, disable=not (enabled and console.is_terminal)) as bar:
        task = bar.add_task(description, total=total, note="")

        def advance(steps: int = 1, note: str = "") -> None:
            nonlocal done, last
            done += steps
            bar.update(task, advance=steps, note=note)
            now = time.monotonic()
            if enabled and not console.is_terminal and now - last >= LOG_EVERY_SECONDS:
                last = now
                left = (now - started) / done * (total - done)
                console.print(f"{description}: {done}/{total}{', ' + note if note else ''}, {left / 60:.0f} min left")

        yield advance


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters (newlines and tabs kept): a submission's log cannot
    send terminal escapes (clear the screen, set the title, write the clipboard) to whoever reads it."""
    return _CONTROL.sub("\ufffd", text)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, paths as strings, NaN / inf as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(payload: Any, **options: Any) -> str:
    """``payload`` as JSON text (through :func:`jsonable`)."""
    return json.dumps(jsonable(payload), **options)


def check_output_path(path: str | Path, *, folder: bool = False) -> Path:
    """``path`` if a file (``folder=False``) or a folder can be written there, else an error that
    names it: checked before long work starts, so that hours of training are not lost to a typo."""
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        raise ValueError(
            f"{path}: is {'a file' if folder else 'a folder'}; give {'a folder' if folder else 'a file name'}"
        )
    existing = path if path.exists() and folder else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: {existing} is not writable")
    return path


def write_json(path: str | Path | None, payload: Any, *, quiet: bool = False) -> None:
    """Write ``payload`` as JSON to ``path`` (atomically); no-op when ``path`` is None."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    if not quiet:
        console.print(f"[dim]wrote {path}[/dim]")


class JsonFileError(ValueError):
    """A file that is not the JSON it should be (the message names the file and the fault)."""


def read_json(path: str | Path) -> Any:
    """Parse ``path`` as JSON, with an error naming the file and the position of the fault."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError as err:
        raise JsonFileError(f"{path}: not a text file ({err})") from None
    except json.JSONDecodeError as err:
        raise JsonFileError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
