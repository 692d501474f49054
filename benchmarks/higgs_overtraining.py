"""Per-epoch training loss, held-out loss and test AUC of a HiggsML network on shifted copies.

Builds the classifier's training set as the baseline does (its share of the train split, the
recipe's nuisance copies), holds out events with every copy of each (the network's own
``held_out``; a fraction of 0.1 when the recipe has none), trains the recipe's network for all
``--epochs`` without stopping early, and after every epoch prints its mean training loss, its
loss on the held-out copies (for nn-adversarial its objective, with both terms) and its weighted
AUC on the nominal test split. This is how the parameterised network's memorising of its copies
was measured (docs/results.md)::

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

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset, load_dataset, split_mask, weighted_part
from hepbench.challenges.higgs_uncertainty.run import classification_metrics
from hepbench.challenges.higgs_uncertainty.systematics import systematics
from hepbench.scoring.anomaly import roc_auc

ADVERSARY_TERMS = ("adversary_loss", "validation_classifier_loss", "validation_adversary_loss")


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
    for_classifier = weighted_part(
        dataset.train, split_mask(len(dataset.train), estimator.classifier_fraction, args.seed)
    )
    built = estimator.augmentation.build(for_classifier)
    clf = estimator.classifier
    nominal = systematics(dataset.test)
    labels, weights = nominal["labels"].to_numpy(), nominal["weights"].to_numpy()
    started = time.perf_counter()
    if args.as_trained:
        clf.fit(built, built["labels"].to_numpy(), built["weights"].to_numpy())
        metrics = classification_metrics(clf, dataset.test)
        history = [[r["epoch"] + 1, r["loss"], r.get("validation_loss")] for r in clf.history_]
        kept = getattr(clf, "best_epoch_", len(history))
        summary = {"rows": len(built), "seconds": time.perf_counter() - started, "kept_epoch": kept}
        print(json.dumps({**summary, "auc": metrics["auc"], "ams": metrics["ams"], "history": history}))
        return
    # Every epoch, no early stop; held-out events as the recipe's own, or 10% if it has none.
    clf.epochs, clf.patience = args.epochs, None
    clf.validation_fraction = clf.validation_fraction or 0.1
    print(f"{len(built):,} rows ({clf.held_out(built).mean():.0%} held out), {len(nominal):,} test events", flush=True)

    def on_epoch(record: dict[str, float]) -> None:
        auc = roc_auc(labels, clf.decision_score(nominal), weights)
        row = {"epoch": record["epoch"] + 1, "loss": record["loss"], "held_out_loss": record["validation_loss"]}
        # An adversarial network's held-out loss is its objective; its two terms are printed too.
        row |= {k: record[k] for k in ADVERSARY_TERMS if k in record}
        print(json.dumps({**row, "test_auc": auc, "seconds": time.perf_counter() - started}), flush=True)

    clf.fit(built, built["labels"].to_numpy(), built["weights"].to_numpy(), on_epoch=on_epoch)


if __name__ == "__main__":
    main()
