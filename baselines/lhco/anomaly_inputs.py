"""Checked access to LHCO event tables for the anomaly detectors (SPEC section 2).

Every detector reads its events through these helpers, so a missing column, a NaN or an empty
signal region fails with one clear message naming the table and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ...challenges.lhco.schema import FEATURES, LABEL, MJJ


def columns(frame: pd.DataFrame | None, names: Sequence[str], what: str) -> np.ndarray:
    """``frame[names]`` as float64, shape (n_events, len(names)); refuses missing or non-finite values.

    ``what`` names the table in the error (e.g. ``"inputs.data"``).
    """
    if frame is None:
        raise ValueError(f"{what} is required by this detector but is None")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; expected {list(names)}")
    values = frame[list(names)].to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        counts = {name: int(n) for name, n in zip(names, bad.sum(axis=0)) if n}
        raise ValueError(f"{what} has NaN or infinite values in column(s) {counts} (column: count)")
    return values


def features(frame: pd.DataFrame | None, what: str) -> np.ndarray:
    """The anomaly-detection features ``schema.FEATURES`` (TeV / ratios), shape (n_events, 4)."""
    return columns(frame, FEATURES, what)


def mjj(frame: pd.DataFrame | None, what: str) -> np.ndarray:
    """Dijet invariant mass in TeV, shape (n_events,)."""
    return columns(frame, (MJJ,), what)[:, 0]


def labels(frame: pd.DataFrame | None, what: str) -> np.ndarray:
    """Truth labels (1 signal, 0 background), shape (n_events,); refuses values other than 0 / 1."""
    y = columns(frame, (LABEL,), what)[:, 0]
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{what} column {LABEL!r} must hold only 0 (background) and 1 (signal)")
    return y


def in_window(mass: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Boolean mask of ``low < mjj < high`` (TeV)."""
    low, high = window
    if not low < high:
        raise ValueError(f"signal region must satisfy low < high, got {window}")
    return (mass > low) & (mass < high)


def signal_region(frame: pd.DataFrame | None, window: tuple[float, float], what: str) -> pd.DataFrame:
    """The rows of ``frame`` inside the mjj window; refuses a window without events."""
    mask = in_window(mjj(frame, what), window)
    if not mask.any():
        raise ValueError(f"{what} has no events in the signal region {window[0]} < {MJJ} < {window[1]} TeV")
    return frame[mask]


def require_events(mask: np.ndarray, what: str, where: str) -> None:
    if not mask.any():
        raise ValueError(f"{what} has no events in {where}")


def _image(frame: pd.DataFrame | None, what: str) -> np.ndarray:
    from .particle_inputs import jet_images

    return jet_images(_frame(frame, what), what)


def _constituents(frame: pd.DataFrame | None, what: str) -> np.ndarray:
    from .particle_inputs import constituent_sequences

    return constituent_sequences(_frame(frame, what), what)


def _frame(frame: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if frame is None:
        raise ValueError(f"{what} is required by this detector but is None")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    return frame


REPRESENTATIONS: dict[str, Callable[[pd.DataFrame | None, str], np.ndarray]] = {
    "features": features,
    "image": _image,
    "constituents": _constituents,
}
"""Input representations of a classifier (``networks.ARCHITECTURES``): name -> ``(frame, what)
-> array`` with the events on the first axis: high-level features (n, 4), jet images
(n, 2, P, P) or per-jet constituents (n, 2, particles, 4), see ``particle_inputs``."""


def representation(frame: pd.DataFrame | None, name: str, what: str) -> np.ndarray:
    """``frame`` as the inputs of representation ``name`` (``REPRESENTATIONS``)."""
    return REPRESENTATIONS[name](frame, what)
