"""Sandboxed execution of submissions: containers (docker) and code (bubblewrap).

A submission reads ``/input`` (read-only) and writes ``/output``; the host enforces the
``Limits``, measures time, memory and exit status itself (``RunOutcome``), and scores only
what ends up in ``/output``, outside the sandbox.
"""

from __future__ import annotations

from typing import Any

from .limits import GIB, MIB, Limits
from .result import CRASHED, INVALID_OUTPUT, KILLED, OK, OOM, STATUSES, TIMEOUT, RunOutcome

BACKENDS: dict[str, str] = {
    "bubblewrap": "hepbench.submission_kit.sandbox.bubblewrap:BubblewrapBackend",
    "docker": "hepbench.submission_kit.sandbox.container:ContainerBackend",
}


def backend_named(name: str, **options: Any) -> Any:
    """A backend by name (``bubblewrap``, or ``docker`` on the submission runtime's image by default)."""
    import importlib

    if name not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {name!r}; choose from {sorted(BACKENDS)}")
    module, _, attribute = BACKENDS[name].partition(":")
    backend = getattr(importlib.import_module(module), attribute)
    if name == "docker" and "image" not in options:
        from .runtime import RUNTIME_IMAGE_TAG

        options["image"] = RUNTIME_IMAGE_TAG
    return backend(**options)


__all__ = [
    "BACKENDS",
    "backend_named",
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
