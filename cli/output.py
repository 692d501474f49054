"""Console and JSON output of the CLI commands (the library's, re-exported for the commands)."""

from __future__ import annotations

from rich.markup import escape

from ..output import check_output_path, console, err_console, printable, write_json

__all__ = ["check_output_path", "console", "err_console", "printable", "shown", "write_json"]


def shown(text: object) -> str:
    """``text`` from a participant or a file, safe to print: no terminal escapes, no rich markup."""
    return escape(printable(str(text)))
