"""Console and JSON output of the CLI commands (the library's, re-exported for the commands)."""

from __future__ import annotations

from ..output import console, err_console, printable, write_json

__all__ = ["console", "err_console", "printable", "write_json"]
