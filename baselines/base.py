"""What every baseline shares: its registry entry, class-balanced weights, size lookups.

numpy only, so the registries of every challenge can be listed without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class Param:
    """One tunable hyperparameter of a baseline: its range (or choices) for ``hepbench baseline tune``.

    ``kind`` is ``"float"`` or ``"int"`` (``low`` .. ``high``, inclusive; ``log`` for a log-uniform
    prior, e.g. learning rates) or ``"categorical"`` (one of ``choices``).
    """

    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "categorical"):
            raise ValueError(f"parameter kind must be float, int or categorical, got {self.kind!r}")
        if self.kind == "categorical" and not self.choices:
            raise ValueError("a categorical parameter needs choices")
        if self.kind != "categorical" and not self.low < self.high:
            raise ValueError(f"parameter range must have low < high, got [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-uniform parameter needs low > 0, got {self.low}")

    def check(self, name: str, value: Any) -> Any:
        """``value`` as this parameter's type, or ValueError naming ``name`` when it does not fit."""
        if self.kind == "categorical":
            if value not in self.choices:
                raise ValueError(f"{name}={value!r} is not one of {list(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}={value!r} must be a number")
        if self.kind == "int":
            if int(value) != value:
                raise ValueError(f"{name}={value!r} must be an integer")
            value = int(value)
        if not self.low <= value <= self.high:
            raise ValueError(f"{name}={value!r} lies outside the search range [{self.low}, {self.high}]")
        return value

    def describe(self) -> str:
        if self.kind == "categorical":
            return "{" + ", ".join(map(str, self.choices)) + "}"
        return f"{self.kind} [{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


SearchSpace = Mapping[str, Param]
"""name -> :class:`Param`; the names are keyword overrides the baseline's factory accepts."""


@dataclass(frozen=True)
class Baseline:
    """One baseline method of a challenge, as ``hepbench baseline list`` shows it."""

    name: str
    challenge: str
    description: str
    factory: Callable[..., Any]
    """(size, device, seed, **params) -> unfitted estimator with the challenge's fit / predict
    interface; ``params`` are hyperparameter overrides named in ``search_space``."""
    in_demo: bool = False
    """Run by ``hepbench demo`` (the demo must stay within minutes on two CPU cores)."""
    search_space: SearchSpace = field(default_factory=dict)
    """Hyperparameters ``hepbench baseline tune`` searches (empty: not tunable)."""

    def check_params(self, params: Mapping[str, Any], where: str = "params") -> dict[str, Any]:
        """``params`` checked against :attr:`search_space` (names known, values in range)."""
        if params and not self.search_space:
            raise ValueError(f"{where}: baseline {self.name!r} declares no tunable hyperparameters")
        unknown = sorted(set(params) - set(self.search_space))
        if unknown:
            raise ValueError(
                f"{where}: unknown hyperparameter(s) {unknown} for {self.name!r}; known: {sorted(self.search_space)}"
            )
        try:
            return {name: self.search_space[name].check(name, value) for name, value in params.items()}
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None


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


def with_overrides(defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A size configuration with hyperparameter overrides applied.

    ``width`` and ``depth`` reshape the ``hidden`` layer widths (every layer ``width`` wide,
    ``depth`` layers); every other name replaces the entry of the same name.
    """
    out = dict(defaults)
    rest = dict(params)
    if "width" in rest or "depth" in rest:
        hidden: Sequence[int] = tuple(out.get("hidden", ()))
        width = int(rest.pop("width", hidden[0] if hidden else 64))
        depth = int(rest.pop("depth", len(hidden) or 1))
        out["hidden"] = (width,) * depth
    out.update(rest)
    return out


def resolve(target: str) -> Any:
    """The object a ``"package.module:attribute.path"`` string names, imported now."""
    import importlib

    module_name, _, attributes = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attribute in attributes.split(".") if attributes else ():
        obj = getattr(obj, attribute)
    return obj


def lazy_factory(target: str, **options: Any) -> Callable[..., Any]:
    """A factory ``(size, device, seed, **params) -> estimator`` that imports ``target`` on first
    call, so a registry lists its methods without importing torch; ``options`` are passed to
    ``target`` as keywords (e.g. the classifier architecture of a method), ``params`` are
    hyperparameter overrides (a tuned configuration)."""

    def factory(size: str, device: str, seed: int, **params: Any) -> Any:
        return resolve(target)(size, device, seed, **options, **params)

    factory.__qualname__ = factory.__name__ = target.rpartition(":")[2]
    return factory
