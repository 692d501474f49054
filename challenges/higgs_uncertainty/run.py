"""One baseline, end to end: train on the train split, evaluate a test plan, score."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...checkpoints import claim_folder, remove_folder, training_checkpoints, training_clock, write_atomic
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


class RunCheckpoint:
    """A folder keeping a run's trained estimator and each pseudo-experiment's answer as it
    arrives, so that a stopped run loses at most the pseudo-experiments in flight.

    ``identity`` (method, data seed and generator version, size, model seed, plan...) is written
    beside them: a later run continues from the folder only with ``resume`` and the same
    identity; without ``resume`` a folder holding a stopped run is refused, never overwritten.
    The estimator is a pickle of the organiser's own training, read back only from this folder.
    Files: ``identity.json``, ``training/`` (per-epoch state of a network while it trains),
    ``estimator.pkl`` (with ``training.json``), ``answers.jsonl``.
    """

    def __init__(self, folder: str | Path, identity: Mapping[str, Any], *, resume: bool = False) -> None:
        self.folder = Path(folder)
        claim_folder(self.folder, identity, resume=resume)

    @property
    def training(self) -> Path:
        """Where the training keeps its per-epoch state until the estimator is kept."""
        return self.folder / "training"

    def estimator(self) -> tuple[Any, float] | None:
        """The trained estimator and its training seconds, if this folder holds them."""
        path = self.folder / "estimator.pkl"
        if not path.exists():
            return None
        with path.open("rb") as handle:
            estimator = pickle.load(handle)
        return estimator, float(json.loads((self.folder / "training.json").read_text())["train_seconds"])

    def keep_estimator(self, estimator: Any, train_seconds: float) -> None:
        write_atomic(self.folder / "training.json", json.dumps({"train_seconds": train_seconds}))
        tmp = self.folder / "estimator.pkl.part"
        with tmp.open("wb") as handle:
            pickle.dump(estimator, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.folder / "estimator.pkl")
        remove_folder(self.training)

    def answers(self) -> list[dict[str, Any]]:
        """The rows kept so far; a line cut short by a stop is dropped from the file too."""
        path = self.folder / "answers.jsonl"
        if not path.exists():
            return []
        text = path.read_text()
        rows, lines = [], text.splitlines()
        for line in lines:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        if len(rows) != len(lines) or (text and not text.endswith("\n")):
            write_atomic(path, "".join(json.dumps(row) + "\n" for row in rows))
        return rows

    def keep_answer(self, row: Mapping[str, Any]) -> None:
        line = json.dumps({k: _plain(v) for k, v in row.items()})
        with (self.folder / "answers.jsonl").open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def remove(self) -> None:
        """Called once the run's record is complete."""
        remove_folder(self.folder)


def _plain(value: Any) -> Any:
    """A row's field as a JSON value: numpy scalars become Python ones (NaN stays NaN)."""
    return value.item() if hasattr(value, "item") else value


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
    checkpoint: RunCheckpoint | None = None,
) -> dict[str, Any]:
    """Fit ``estimator`` on ``dataset.train`` and score it on ``plan`` drawn from ``dataset.test``.

    Returns a JSON-ready record: method, preset, seed, plan size, metrics (with bootstrap),
    train seconds, mean / median predict seconds per pseudo-experiment, device, and the
    per-pseudo-experiment rows. ``client`` spreads the pseudo-experiments over a Dask
    cluster (``hepbench.parallel.dask_client``). ``checkpoint`` keeps the trained estimator
    and every answer as it arrives, and supplies those of a stopped run.
    """
    trained = checkpoint.estimator() if checkpoint is not None else None
    if trained is None:
        # A network training also keeps its state after every epoch (a stop loses one epoch).
        with training_checkpoints(checkpoint.training if checkpoint is not None else None):
            clock = training_clock()
            estimator.fit(dataset.train)
            train_seconds = clock()
        if checkpoint is not None:
            checkpoint.keep_estimator(estimator, train_seconds)
    else:
        estimator, train_seconds = trained
    results = evaluate_plan(
        estimator,
        dataset.test,
        plan,
        progress=progress,
        client=client,
        done=checkpoint.answers() if checkpoint is not None else (),
        on_result=checkpoint.keep_answer if checkpoint is not None else None,
    )
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
