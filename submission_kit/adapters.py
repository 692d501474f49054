"""Which challenges can take sandboxed submissions, and the module that adapts each one.

An adapter module provides ``CHALLENGE``, ``VALIDATE_OPTIONS`` (the tiny inputs of
``hepbench submission validate``), ``write_inputs(input_dir, organiser_dir, **options)``,
``read_and_validate_outputs(output_dir, organiser_dir)`` (raising ``OutputError``) and
``score(answers, organiser_dir)``; its template folder is ``templates/<challenge>/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ADAPTERS: dict[str, str] = {
    "higgs-uncertainty": "hepbench.submission_kit.higgs_uncertainty",
}


def get_adapter(challenge: str) -> ModuleType:
    """The adapter module of ``challenge``, or ValueError listing those available."""
    try:
        return importlib.import_module(ADAPTERS[challenge])
    except KeyError:
        raise ValueError(f"challenge {challenge!r} takes no sandboxed submissions yet; "
                         f"available: {sorted(ADAPTERS)}") from None
