"""A phase's dates and sandbox limits: parsing (competition file, command line), the open window
check at submission, and the ``Limits`` a worker runs the phase's code under.

Dates are naive UTC (as every timestamp column); a phase without a start is open from the
beginning, one without an end never closes. Sandbox limits are stored as the organiser wrote
them (``memory_mb: 2048``), unset keys keep the sandbox's defaults (:class:`Limits`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from ..submission_kit.sandbox.limits import MIB, Limits

MAX_SETTING = 10**12
"""The largest number a phase setting may hold: far above any real limit, and small enough that
a count or a size in bytes (MiB x 2^20) fits the database's 64-bit integers."""

LIMIT_FIELDS: dict[str, tuple[str, type, float]] = {
    # key as organisers write it: (Limits field, number type, factor to the field's unit)
    "wall_seconds": ("wall_seconds", float, 1.0),
    "memory_mb": ("memory_bytes", int, MIB),
    "cpus": ("cpus", float, 1.0),
    "pids": ("pids", int, 1.0),
    "output_mb": ("output_bytes", int, MIB),
    "tmp_mb": ("tmp_bytes", int, MIB),
    "file_size_mb": ("file_size_bytes", int, MIB),
}
"""Sandbox limits a phase may set, the same for the bubblewrap and docker backends (``run_submission``
also builds a Dockerfile payload under them)."""


class PhaseClosedError(ValueError):
    """A submission outside its phase's dates (HTTP 403)."""


def parse_when(value: Any, where: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time as naive UTC (a zone is converted; none means UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: not an ISO date (YYYY-MM-DD[THH:MM]), got {value!r}") from None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def check_window(start: dt.datetime | None, end: dt.datetime | None, where: str) -> None:
    """Refuse an end that is not after the start."""
    if start is not None and end is not None and end <= start:
        raise ValueError(f"{where}: {end:%Y-%m-%d %H:%M} is not after start {start:%Y-%m-%d %H:%M}")


def parse_limits(raw: Any, where: str) -> dict[str, float | int]:
    """Checked sandbox limits from a mapping ``{key: number}`` (keys of ``LIMIT_FIELDS``)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping of limits, got {type(raw).__name__}")
    out: dict[str, float | int] = {}
    for key, value in raw.items():
        if key not in LIMIT_FIELDS:
            raise ValueError(f"{where}.{key}: unknown limit; known: {sorted(LIMIT_FIELDS)}")
        kind = LIMIT_FIELDS[key][1]
        number: float | int
        if isinstance(value, str):
            try:
                number = kind(value)
            except ValueError:
                raise ValueError(f"{where}.{key}: a {'whole ' if kind is int else ''}number, got {value!r}") from None
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or (kind is int and value != int(value))
        ):
            raise ValueError(f"{where}.{key}: a {'whole ' if kind is int else ''}number, got {value!r}")
        else:
            number = kind(value)
        if not number > 0:
            raise ValueError(f"{where}.{key}: must be positive, got {value!r}")
        if not math.isfinite(number) or number > MAX_SETTING:
            raise ValueError(f"{where}.{key}: at most {MAX_SETTING}, got {value!r}")
        out[key] = number
    try:
        to_limits(out)
    except ValueError as err:  # e.g. memory below what an interpreter needs
        raise ValueError(f"{where}: {err}") from None
    return out


def parse_limit_options(options: list[str], where: str = "--limit") -> dict[str, float | int]:
    """``KEY=VALUE`` strings (``--limit memory_mb=512``) as checked limits."""
    raw: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{where} {option!r}: KEY=VALUE, with KEY one of {sorted(LIMIT_FIELDS)}")
        raw[key.strip()] = value.strip()
    return parse_limits(raw, where)


def to_limits(settings: dict[str, float | int] | None) -> Limits:
    """The sandbox ``Limits`` of a phase's stored settings (defaults where unset)."""
    fields = {LIMIT_FIELDS[k][0]: LIMIT_FIELDS[k][1](v * LIMIT_FIELDS[k][2]) for k, v in (settings or {}).items()}
    return Limits(**fields)


def dump_limits(settings: dict[str, float | int] | None) -> str | None:
    return json.dumps(settings, sort_keys=True) if settings else None


def load_limits(text: str | None) -> dict[str, float | int]:
    return json.loads(text) if text else {}


def _at(when: dt.datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC"


def window_text(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """``from ... until ...`` for messages."""
    parts = [f"opens {_at(start)}" if start else "", f"closes {_at(end)}" if end else ""]
    return ", ".join(p for p in parts if p) or "always open"


def refuse_outside(where: str, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> None:
    """Raise ``PhaseClosedError`` (one line naming the phase and its dates) outside the window."""
    if start is not None and now < start:
        raise PhaseClosedError(f"phase {where} is not open yet: it {window_text(start, end)}")
    if end is not None and now >= end:
        since = f" from {_at(start)}" if start else ""
        raise PhaseClosedError(f"phase {where} is closed: it was open{since} until {_at(end)}")


def _span(seconds: float) -> str:
    """A coarse duration: ``3 days``, ``5 hours``, ``12 minutes``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def status_line(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    """What a phase page says about its dates: state (``upcoming``, ``open``, ``closed``) and text."""
    if start is not None and now < start:
        state, text = "upcoming", f"opens in {_span((start - now).total_seconds())} ({_at(start)})"
    elif end is not None and now >= end:
        state, text = "closed", f"closed on {_at(end)}"
    elif end is not None:
        state, text = "open", f"open; closes in {_span((end - now).total_seconds())} ({_at(end)})"
    else:
        state, text = "open", "open" + (f" since {_at(start)}" if start else "")
    return {
        "state": state,
        "text": text,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
    }
