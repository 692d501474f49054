"""Checks on what a submission wrote to ``/output``: every error names the file and the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 64 << 20


class OutputError(ValueError):
    """A submission's output cannot be scored; the message names the file and the field."""


def read_json_output(output_dir: str | Path, name: str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse ``output_dir/name`` as JSON, or raise ``OutputError`` saying what is wrong with it."""
    path = Path(output_dir) / name
    if not path.is_file() or path.is_symlink():
        raise OutputError(f"{name}: missing; the submission must write /output/{name}")
    size = path.stat().st_size
    if size > max_bytes:
        raise OutputError(f"{name}: {size} bytes, more than the {max_bytes} allowed")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise OutputError(f"{name}: not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise OutputError(f"{name}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None


def require_list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise OutputError(f"{where} must be a list, got {_kind(value)}")
    return value


def require_mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise OutputError(f"{where} must be an object, got {_kind(value)}")
    return value


def require_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutputError(f"{where} must be an integer, got {_kind(value)} {value!r:.40}")
    return value


def require_finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OutputError(f"{where} must be a number, got {_kind(value)} {value!r:.40}")
    if not math.isfinite(value):
        raise OutputError(f"{where} is {value}; a finite number is required")
    return float(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), type(value).__name__)
