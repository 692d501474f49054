"""Which challenges can take sandboxed submissions, and the module that adapts each one.

An adapter module provides ``CHALLENGE``, ``VALIDATE_OPTIONS`` (the tiny inputs of
``hepbench submission validate``), ``write_inputs(input_dir, organiser_dir, **options)``,
``read_and_validate_outputs(output_dir, organiser_dir)`` (raising ``OutputError``),
``describe(answers)`` (one line for the record) and ``score(answers, organiser_dir, **options)``;
its template folder is ``templates/<challenge>/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ADAPTERS: dict[str, str] = {
    "higgs-uncertainty": "hepbench.submission_kit.higgs_uncertainty",
    "lhco": "hepbench.submission_kit.lhco",
    "calo": "hepbench.submission_kit.calo",
}


def get_adapter(challenge: str) -> ModuleType:
    """The adapter module of ``challenge``, or ValueError listing those available."""
    try:
        return importlib.import_module(ADAPTERS[challenge])
    except KeyError:
        raise ValueError(f"no challenge {challenge!r} takes sandboxed submissions; "
                         f"those that do: {sorted(ADAPTERS)}") from None
