"""One baseline, end to end: train on the train split, evaluate a test plan, score."""

from __future__ import annotations

import time
from typing import Any

from ...records import RECORD_VERSION
from ...scoring.anomaly import roc_auc
from ...scoring.classification import best_ams
from .dataset import Dataset
from .harness import evaluate_plan, score_results
from .pseudo_experiments import TestPlan
from .systematics import systematics


def classification_metrics(estimator: Any, test_set: Any) -> dict[str, float]:
    """ROC AUC and best AMS (b_r = 10) of the estimator's score on the nominal test set.

    The test set's weights are the expected yields at the preset's luminosity, so AMS is quoted
    at that luminosity. Empty for estimators without a ``decision_score``.
    """
    if not hasattr(estimator, "decision_score"):
        return {}
    nominal = systematics(test_set)
    score = estimator.decision_score(nominal)
    labels, weights = nominal["labels"].to_numpy(), nominal["weights"].to_numpy()
    value, threshold, fraction = best_ams(labels, score, weights)
    return {
        "auc": roc_auc(labels, score, weights),
        "ams": value,
        "ams_threshold": threshold,
        "ams_selected_fraction": fraction,
    }


def run_estimator(
    name: str,
    estimator: Any,
    dataset: Dataset,
    plan: TestPlan,
    *,
    device: str,
    progress: bool = True,
    n_bootstrap: int = 1000,
    client: Any = None,
) -> dict[str, Any]:
    """Fit ``estimator`` on ``dataset.train`` and score it on ``plan`` drawn from ``dataset.test``.

    Returns a JSON-ready record: method, preset, seed, plan size, metrics (with bootstrap),
    train seconds, mean / median predict seconds per pseudo-experiment, device, and the
    per-pseudo-experiment rows. ``client`` spreads the pseudo-experiments over a Dask
    cluster (``hepbench.parallel.dask_client``).
    """
    start = time.perf_counter()
    estimator.fit(dataset.train)
    train_seconds = time.perf_counter() - start
    results = evaluate_plan(estimator, dataset.test, plan, progress=progress, client=client)
    metrics = score_results(results, n_bootstrap=n_bootstrap)
    metrics.update(classification_metrics(estimator, dataset.test))
    return {
        "record_version": RECORD_VERSION,
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
