"""The challenges hepbench hosts: ``get(id)``, ``all()``, ``ids()``.

The three built-in challenges are listed here; other packages register more through the
entry-point group ``hepbench.challenges`` (an entry point names a ``Challenge`` instance or
class, e.g. ``mychallenge = "mypackage.challenge:CHALLENGE"``). Each is loaded on first use,
and loading one imports no heavy library.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from .base import Challenge, MetricColumn, Phase, RankingMetric

ENTRY_POINT_GROUP = "hepbench.challenges"

BUILTIN: dict[str, str] = {
    "higgs-uncertainty": "hepbench.challenges.higgs_uncertainty.challenge:CHALLENGE",
    "lhco": "hepbench.challenges.lhco.challenge:CHALLENGE",
    "calo": "hepbench.challenges.calo.challenge:CHALLENGE",
}


def _load(target: str) -> Challenge:
    import importlib

    module, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module), attribute)
    challenge = obj() if isinstance(obj, type) else obj
    if not isinstance(challenge, Challenge):
        raise TypeError(f"{target} is not a hepbench Challenge (got {type(challenge).__name__})")
    return challenge


@functools.cache
def _targets() -> dict[str, str]:
    """challenge id -> "module:attribute", built-ins first, then the entry points."""
    targets = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN:
            continue  # a plugin cannot replace a built-in challenge
        targets[ep.name] = ep.value
    return targets


@functools.cache
def get(challenge_id: str) -> Challenge:
    """The registered challenge ``challenge_id``; ValueError listing the known ids otherwise."""
    targets = _targets()
    if challenge_id not in targets:
        raise ValueError(f"unknown challenge {challenge_id!r}; known: {sorted(targets)}")
    challenge = _load(targets[challenge_id])
    if challenge.id != challenge_id:
        raise ValueError(f"entry point {challenge_id!r} names a challenge whose id is {challenge.id!r}")
    return challenge


def ids() -> list[str]:
    """The ids of every registered challenge, built-ins first."""
    return list(_targets())


def all() -> list[Challenge]:  # noqa: A001  (the registry's name for "every challenge")
    """Every registered challenge, built-ins first."""
    return [get(i) for i in ids()]


def reset() -> None:
    """Forget the loaded registry (after installing a package that adds a challenge)."""
    _targets.cache_clear()
    get.cache_clear()


__all__ = ["ENTRY_POINT_GROUP", "Challenge", "MetricColumn", "Phase", "RankingMetric", "all", "get", "ids", "reset"]
