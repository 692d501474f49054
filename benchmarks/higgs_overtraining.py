"""Per-epoch training loss, held-out loss and test AUC of a HiggsML network on shifted copies.

Builds the classifier's training set as the baseline does (its share of the train split, the
recipe's nuisance copies), holds out events with every copy of each (the network's own
``held_out``; a fraction of 0.1 when the recipe has none), trains the recipe's network for all
``--epochs`` without stopping early, and after every epoch prints its mean training loss, its
loss on the held-out copies and its weighted AUC on the nominal test split. This is how the
parameterised network's memorising of its copies was measured (docs/results.md)::

    python benchmarks/higgs_overtraining.py --method nn-parameterised-template-fit \
        --preset small --size full --seed 0 --epochs 9

``--as-trained`` instead trains the classifier exactly as the baseline does (its own held-out
events and early stop) and prints its history, the epoch it kept, and its AUC and AMS on the
nominal test split.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from hepbench import challenges
from hepbench.baselines.base import balanced_weights
from hepbench.baselines.higgs_uncertainty.neural_net import FeatureScaler
from hepbench.baselines.higgs_uncertainty.signal_strength import split_by_process
from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset, load_dataset
from hepbench.challenges.higgs_uncertainty.run import classification_metrics
from hepbench.challenges.higgs_uncertainty.systematics import systematics
from hepbench.scoring.anomaly import roc_auc
from hepbench.torch_common import binary_loss, fit, mlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="nn-parameterised-template-fit")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--size", default="full")
    parser.add_argument("--seed", type=int, default=0, help="data and model seed")
    parser.add_argument("--data", help="data folder of `hepbench data generate` (generated if absent)")
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--as-trained", action="store_true", help="the baseline's own training and early stop")
    args = parser.parse_args()

    dataset = load_dataset(args.data) if args.data else generate_dataset(args.preset, args.seed)
    estimator = challenges.get("higgs-uncertainty").baseline(args.method).factory(args.size, "cpu", args.seed)
    for_classifier, _ = split_by_process(dataset.train, estimator.classifier_fraction, args.seed)
    built = estimator.augmentation.build(for_classifier)
    clf = estimator.classifier
    if args.as_trained:
        started = time.perf_counter()
        clf.fit(built, built["labels"].to_numpy(), built["weights"].to_numpy())
        metrics = classification_metrics(clf, dataset.test)
        history = [[r["epoch"] + 1, r["loss"], r.get("validation_loss")] for r in clf.history_]
        kept = getattr(clf, "best_epoch_", len(history))
        summary = {"rows": len(built), "seconds": time.perf_counter() - started, "kept_epoch": kept}
        print(json.dumps({**summary, "auc": metrics["auc"], "ams": metrics["ams"], "history": history}))
        return
    if clf.validation_fraction <= 0.0:
        clf.validation_fraction = 0.1
    held = clf.held_out(built)
    labels, weights = built["labels"].to_numpy(), built["weights"].to_numpy()
    train, validation = built.loc[~held], built.loc[held]
    clf.scaler_ = FeatureScaler(clf.features).fit(train)

    import torch

    def tensors(part: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> list[torch.Tensor]:
        x = clf._inputs(part)
        return [torch.tensor(x), torch.tensor(y, dtype=torch.float32), torch.tensor(w, dtype=torch.float32)]

    def held_out_loss() -> torch.Tensor:
        # In batches: a 256-wide layer over a million held-out rows is a GiB.
        parts = [
            binary_loss(
                clf.network_(xv[i : i + 16384]).squeeze(1), yv[i : i + 16384], wv[i : i + 16384], clf.focal_gamma
            )
            * wv[i : i + 16384].sum()
            for i in range(0, len(xv), 16384)
        ]
        return torch.stack(parts).sum() / wv.sum()

    xt, yt, wt = tensors(train, labels[~held], balanced_weights(labels[~held], weights[~held]))
    xv, yv, wv = tensors(validation, labels[held], balanced_weights(labels[held], weights[held]))
    torch.manual_seed(args.seed)
    clf.network_, clf.device_ = mlp(xt.shape[1], clf.hidden), "cpu"
    nominal = systematics(dataset.test)
    print(f"{len(xt):,} training rows, {len(xv):,} held-out rows, {len(nominal):,} test events", flush=True)
    started = time.perf_counter()

    def on_epoch(record: dict[str, float]) -> None:
        auc = roc_auc(nominal["labels"].to_numpy(), clf.decision_score(nominal), nominal["weights"].to_numpy())
        row = {"epoch": record["epoch"] + 1, "loss": record["loss"], "held_out_loss": record["validation_loss"]}
        print(json.dumps({**row, "test_auc": auc, "seconds": time.perf_counter() - started}), flush=True)

    fit(
        clf.network_,
        lambda xb, yb, wb: binary_loss(clf.network_(xb).squeeze(1), yb, wb, clf.focal_gamma),
        [xt, yt, wt],
        epochs=args.epochs,
        batch_size=clf.batch_size,
        learning_rate=clf.learning_rate,
        seed=args.seed,
        validation=held_out_loss,
        on_epoch=on_epoch,
    )


if __name__ == "__main__":
    main()
