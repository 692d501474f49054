"""JSON and console helpers shared by the library and the command line.

``jsonable`` turns numpy scalars, paths and non-finite floats into plain JSON; ``write_json``
writes atomically. ``console`` is where long work shows its progress (rich spinners, bars).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

# Tables stay readable when the output is a file or a pipe (rich would fall back to 80 columns).
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


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
