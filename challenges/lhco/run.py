"""One anomaly detector, end to end: fit on what the protocol allows, score the hidden truth.

The detector is fitted on ``dataset.inputs`` (unlabelled data; the background simulation and
labelled events only reach the methods the protocol lets use them), scores the labelled
signal-region test set (AUC, SIC, rejection), and scores an independent data sample of the
same process for the bump hunt. The bump hunt uses a sample the detector was not trained on:
a classifier scoring its own training events would sculpt the mjj spectrum (the anchor's
k-folding serves the same purpose).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ...checkpoints import training_clock
from ...records import RECORD_VERSION
from ...scoring.anomaly import MIN_BACKGROUND, anomaly_metrics, roc_curve, sic_from_roc
from ...scoring.bump_hunt import bump_hunt
from .dataset import LhcoDataset
from .schema import COLUMNS, LABEL, MJJ, n_particles, particle_columns

BUMP_HUNT_FRACTIONS: tuple[float, ...] = (1.0, 0.1, 0.01)
"""Fractions of the events kept by the anomaly-score cut before each bump hunt."""
SIC_POINTS = 200
"""Points of the SIC curve kept in a record (log-spaced in eps_S)."""


def detector_scores(detector: Any, events: pd.DataFrame, what: str) -> np.ndarray:
    """The detector's anomaly score per row of ``events`` (its features and particles, never its
    label), shape (n_events,), checked finite."""
    visible = [*COLUMNS, *particle_columns(n_particles(events.columns))]
    score = np.asarray(detector.predict(events[visible]), dtype=np.float64).reshape(-1)
    if len(score) != len(events):
        raise ValueError(f"{what}: the detector returned {len(score)} scores for {len(events)} events")
    bad = int(np.count_nonzero(~np.isfinite(score)))
    if bad:
        raise ValueError(f"{what}: the detector returned {bad} non-finite score(s)")
    return score


def sic_curve_points(labels: np.ndarray, score: np.ndarray, n_points: int = SIC_POINTS) -> dict[str, list[float]]:
    """The SIC curve at ``n_points`` signal efficiencies (log-spaced, 1e-3 .. 1), for plots.

    Thinned, so the maximum SIC cannot be recomputed from it; the number of background events
    each point keeps is ``eps_b`` times the record's ``n_test["background"]``."""
    curve = roc_curve(labels, score)
    sic = sic_from_roc(curve)
    grid = np.geomspace(1e-3, 1.0, n_points)
    index = np.clip(np.searchsorted(curve.eps_s, grid), 0, len(curve.eps_s) - 1)
    return {
        "eps_s": curve.eps_s[index].tolist(),
        "eps_b": curve.eps_b[index].tolist(),
        "sic": np.nan_to_num(sic[index], nan=0.0, posinf=0.0).tolist(),
    }


def bump_sample_seed(seed: int) -> int:
    """Seed of the independent data sample the bump hunt of data set ``seed`` is done on."""
    return int(np.random.SeedSequence([seed, 4242]).generate_state(1, dtype=np.uint32)[0])


def bump_hunts(mjj: np.ndarray, score: np.ndarray, signal_region: tuple[float, float]) -> list[dict[str, float]]:
    """One bump hunt per cut of ``BUMP_HUNT_FRACTIONS`` on ``score``; mjj (n,) TeV, score (n,)."""
    hunts = []
    for fraction in BUMP_HUNT_FRACTIONS:
        result = bump_hunt(mjj, score, keep_fraction=fraction, signal_region=signal_region)
        hunts.append(
            {
                "keep_fraction": fraction,
                "z": result.z,
                "n_observed": result.n_observed,
                "background": result.background,
                "sigma_background": result.sigma_background,
            }
        )
    return hunts


def run_detector(
    name: str,
    detector: Any,
    dataset: LhcoDataset,
    *,
    device: str,
    bump_data: pd.DataFrame | None = None,
    min_background: float = MIN_BACKGROUND,
) -> dict[str, Any]:
    """Fit ``detector`` and score it; returns a JSON-ready record.

    ``bump_data``: an independent data sample (``schema.COLUMNS``, any mjj) for the bump hunt
    after cuts keeping ``BUMP_HUNT_FRACTIONS`` of its events; ``None`` skips it.
    ``min_background``: fewest test-set background events a cut keeps for the maximum SIC.
    """
    clock = training_clock()
    detector.fit(dataset.inputs)
    train_seconds = clock()
    labels = dataset.test[LABEL].to_numpy()
    start = time.perf_counter()
    score = detector_scores(detector, dataset.test, "test set")
    predict_seconds = time.perf_counter() - start
    metrics = anomaly_metrics(labels, score, min_background=min_background)
    signal_region = dataset.inputs.signal_region
    sr_data = dataset.inputs.data[MJJ].between(*signal_region, inclusive="neither")
    record: dict[str, Any] = {
        "record_version": RECORD_VERSION,
        "challenge": "lhco",
        "method": name,
        "preset": dataset.preset,
        "data_seed": dataset.seed,
        "n_signal_injected": dataset.n_signal,
        "s_over_b_signal_region": float(
            dataset.data_truth[sr_data].mean() / max(1e-12, 1 - dataset.data_truth[sr_data].mean())
        ),
        "n_test": {"signal": int(labels.sum()), "background": int((labels == 0).sum())},
        "device": device,
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "metrics": metrics,
        "sic_curve": sic_curve_points(labels, score),
    }
    if bump_data is not None:
        bump_score = detector_scores(detector, bump_data, "bump-hunt sample")
        hunts = bump_hunts(bump_data[MJJ].to_numpy(), bump_score, signal_region)
        record["bump_hunt"] = hunts
        metrics["bump_hunt_z_max"] = max(h["z"] for h in hunts)
    return record
