"""What every baseline shares: its registry entry, class-balanced weights, size lookups.

numpy only, so the registries of every challenge can be listed without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class Baseline:
    """One baseline method of a challenge, as ``hepbench baseline list`` shows it."""

    name: str
    challenge: str
    description: str
    factory: Callable[[str, str, int], Any]
    """(size, device, seed) -> unfitted estimator with the challenge's fit / predict interface."""
    in_demo: bool = False
    """Run by ``hepbench demo`` (the demo must stay within minutes on two CPU cores)."""


def balanced_weights(labels: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Rescale per-event weights so that signal (1) and background (0) carry equal total
    weight, mean weight 1; shape (n_events,), float64.

    The physics weights differ by orders of magnitude between classes (S/B ~ 1e-3); training
    on them directly would teach a classifier to call everything background. Without
    ``sample_weight`` every event starts at weight 1.
    """
    labels = np.asarray(labels)
    if sample_weight is None:
        w = np.ones(len(labels), dtype=np.float64)
    else:
        w = np.asarray(sample_weight, dtype=np.float64).copy()
    for cls in (0, 1):
        mask = labels > 0.5 if cls else labels <= 0.5
        total = w[mask].sum()
        if total <= 0:
            raise ValueError(
                f"class {cls} has no positive weight; the classifier needs events of both classes (label 0 and label 1)"
            )
        w[mask] *= 0.5 * len(w) / total
    return w


def size_config(sizes: Mapping[str, T], size: str) -> T:
    """``sizes[size]`` with an error listing the known sizes."""
    if size not in sizes:
        raise ValueError(f"unknown size {size!r}; known: {sorted(sizes)}")
    return sizes[size]


def resolve(target: str) -> Any:
    """The object a ``"package.module:attribute.path"`` string names, imported now."""
    import importlib

    module_name, _, attributes = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attribute in attributes.split(".") if attributes else ():
        obj = getattr(obj, attribute)
    return obj


def lazy_factory(target: str, **options: Any) -> Callable[[str, str, int], Any]:
    """A factory ``(size, device, seed) -> estimator`` that imports ``target`` on first call, so a
    registry lists its methods without importing torch; ``options`` are passed to ``target`` as
    keywords (e.g. the classifier architecture of a method)."""

    def factory(size: str, device: str, seed: int) -> Any:
        return resolve(target)(size, device, seed, **options)

    factory.__qualname__ = factory.__name__ = target.rpartition(":")[2]
    return factory
