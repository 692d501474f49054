"""Checks on what a submission wrote to ``/output``: every error names the file and the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

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


def read_npy_output(output_dir: str | Path, name: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Read ``output_dir/name`` as a numeric numpy array of ``shape`` with finite values (float64).

    The header is checked before any data is read (no pickles, numbers only, the exact shape; an
    extra trailing axis of length 1 is accepted), so a huge or hostile file costs nothing.
    ``what`` names the field in errors, e.g. ``"one score per row of test.npy"``.
    """
    path = Path(output_dir) / name
    if not path.is_file() or path.is_symlink():
        raise OutputError(f"{name}: missing; the submission must write /output/{name}")
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version} (np.save writes 1.0 or 2.0)")
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            found, _, dtype = reader(handle)
    except (ValueError, OSError, SyntaxError) as err:
        raise OutputError(f"{name}: not a numpy .npy file ({err})") from None
    if dtype.kind not in "biuf":
        raise OutputError(f"{name}: dtype {dtype} is not numeric; write float32 or float64 ({what})")
    if tuple(found) not in (tuple(shape), (*shape, 1)):
        raise OutputError(f"{name}: shape {tuple(found)}, expected {tuple(shape)} ({what})")
    expected_bytes = int(np.prod(found)) * dtype.itemsize
    if path.stat().st_size > expected_bytes + 65536:
        raise OutputError(f"{name}: {path.stat().st_size} bytes, more than a {tuple(found)} {dtype} array needs")
    try:
        values = np.load(path, allow_pickle=False).astype(np.float64).reshape(shape)
    except (ValueError, OSError, EOFError) as err:
        raise OutputError(f"{name}: cannot be read ({err})") from None
    bad = np.flatnonzero(~np.isfinite(values.reshape(-1)))
    if len(bad):
        index = np.unravel_index(bad[0], shape)
        raise OutputError(
            f"{name}: {len(bad)} non-finite value(s), first {values[index]} at index "
            f"{tuple(int(i) for i in index)}; finite numbers are required ({what})"
        )
    return values


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
        type(value), type(value).__name__
    )
