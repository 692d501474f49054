"""One baseline, end to end: train on the train split, evaluate a test plan, score."""

from __future__ import annotations

import time
from typing import Any

from .dataset import Dataset
from .harness import evaluate_plan, score_results
from .pseudo_experiments import TestPlan


def run_estimator(
    name: str,
    estimator: Any,
    dataset: Dataset,
    plan: TestPlan,
    *,
    device: str,
    progress: bool = True,
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """Fit ``estimator`` on ``dataset.train`` and score it on ``plan`` drawn from ``dataset.test``.

    Returns a JSON-ready record: method, preset, seed, plan size, metrics (with bootstrap),
    train seconds, mean / median predict seconds per pseudo-experiment, device, and the
    per-pseudo-experiment rows.
    """
    start = time.perf_counter()
    estimator.fit(dataset.train)
    train_seconds = time.perf_counter() - start
    results = evaluate_plan(estimator, dataset.test, plan, progress=progress)
    metrics = score_results(results, n_bootstrap=n_bootstrap)
    return {
        "challenge": "higgs-uncertainty",
        "method": name,
        "preset": dataset.preset,
        "data_seed": dataset.seed,
        "n_sets": plan.n_sets,
        "n_pseudo_experiments": plan.n_pseudo_experiments,
        "plan_seed": plan.initial_seed,
        "device": device,
        "train_seconds": train_seconds,
        "predict_seconds_mean": float(results["predict_seconds"].mean()),
        "predict_seconds_median": float(results["predict_seconds"].median()),
        "metrics": metrics,
        "pseudo_experiments": results.to_dict(orient="records"),
    }
