"""Sandboxed execution of submissions: containers (docker) and code (bubblewrap).

A submission reads ``/input`` (read-only) and writes ``/output``; the host enforces the
``Limits``, measures time, memory and exit status itself (``RunOutcome``), and scores only
what ends up in ``/output``, outside the sandbox.
"""

from .limits import GIB, MIB, Limits
from .result import CRASHED, INVALID_OUTPUT, KILLED, OK, OOM, STATUSES, TIMEOUT, RunOutcome

__all__ = [
    "Limits",
    "RunOutcome",
    "MIB",
    "GIB",
    "OK",
    "TIMEOUT",
    "OOM",
    "CRASHED",
    "KILLED",
    "INVALID_OUTPUT",
    "STATUSES",
]
