"""The validation objective of HiggsML Uncertainty: the coverage score on validation
pseudo-experiments drawn from a held-out part of the training split (the test split is never read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import DataFileError, read_table
from .dataset import split_by_process
from .harness import evaluate_plan, score_results
from .pseudo_experiments import make_test_plan

VALIDATION_FRACTION = 0.3
"""Share of the training split (per process) kept out of training to draw validation pseudo-experiments from."""


def validation_seed(seed: int) -> int:
    """Seed of the train / validation split and of the validation plan, apart from the data seed's other streams."""
    return int(np.random.SeedSequence([seed, 0x7661]).generate_state(1, dtype=np.uint32)[0])


def read_train_split(folder: Path, preset: str, seed: int) -> pd.DataFrame:
    """``folder/train.parquet`` alone (checksum verified), checked to be of ``preset`` and ``seed``."""
    path = Path(folder) / "train.parquet"
    frame = read_table(path)
    meta = frame.attrs.get("metadata", {})
    if (meta.get("preset"), meta.get("seed")) != (preset, seed):
        raise DataFileError(
            f"{path}: holds preset {meta.get('preset')!r} seed {meta.get('seed')}, not {preset!r} seed {seed}"
        )
    return frame


def validation_metrics(
    estimator: Any, train: pd.DataFrame, *, n_sets: int, n_pseudo_experiments: int, seed: int
) -> dict[str, float]:
    """Fit ``estimator`` on 70% of ``train`` and score it on a plan of ``n_sets`` x
    ``n_pseudo_experiments`` validation pseudo-experiments drawn from the other 30%.

    Each part's weights are rescaled to the full per-process yield, so a validation
    pseudo-experiment has the luminosity of a test one. Returns coverage_score, width,
    coverage, rmse, mae and n_failed.
    """
    stream = validation_seed(seed)
    validation, fitted = split_by_process(train, VALIDATION_FRACTION, stream)
    estimator.fit(fitted)
    plan = make_test_plan(n_sets, n_pseudo_experiments, initial_seed=stream)
    results = evaluate_plan(estimator, validation, plan, progress=False)
    metrics = score_results(results, n_bootstrap=0)
    keys = ("coverage_score", "width", "coverage", "rmse", "mae", "n_failed")
    return {k: float(metrics[k]) for k in keys}
