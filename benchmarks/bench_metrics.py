"""Metric throughput: LHCO AUC / SIC on millions of scores, and the calorimeter classifier metric.

Usage: python benchmarks/bench_metrics.py [--scores 10000000] [--showers 5000] [--classifier small]
       [--repeats 3] [--json out.json]

Reports, as the median over repeats:
- ``anomaly_metrics`` (ROC, AUC, max SIC, rejections from one sort) on ``--scores`` random
  scores, beside scikit-learn's ``roc_auc_score`` on the same input (the AUCs must agree);
- the calorimeter evaluation on DS1-photon GFlash showers (reference vs an independent
  reference): high-level features + separation power, FPD + KPD, and one binary-classifier
  test (low-level inputs) with the ``--classifier`` configuration.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import roc_auc_score
from timing import machine, median_seconds

from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model
from hepbench.scoring.anomaly import anomaly_metrics
from hepbench.scoring.calo import (
    apply_threshold,
    classifier_test,
    evaluation_threshold,
    fpd,
    high_level_features,
    high_level_inputs,
    kpd,
    low_level_inputs,
    scale_by_reference,
    separation_powers,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=10_000_000)
    parser.add_argument("--showers", type=int, default=5000)
    parser.add_argument("--classifier", default="small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result: dict = {"machine": machine()}

    rng = np.random.default_rng(0)
    labels = (rng.random(args.scores) < 0.01).astype(np.int8)
    score = rng.normal(size=args.scores) + 1.5 * labels
    ours = median_seconds(lambda: anomaly_metrics(labels, score), args.repeats)
    sklearn = median_seconds(lambda: roc_auc_score(labels, score), args.repeats)
    auc_diff = abs(anomaly_metrics(labels, score)["auc"] - roc_auc_score(labels, score))
    print(
        f"{args.scores:,} scores: anomaly_metrics {ours:.2f} s (AUC, SIC, max SIC, rejections); "
        f"sklearn roc_auc_score {sklearn:.2f} s (AUC only); |AUC difference| {auc_diff:.1e}"
    )
    result["anomaly"] = {
        "n_scores": args.scores,
        "anomaly_metrics_seconds": ours,
        "sklearn_auc_seconds": sklearn,
        "auc_abs_difference": auc_diff,
    }

    model = detector_model("ds1-photons")
    geometry = model.geometry
    threshold = evaluation_threshold(geometry)
    e1, s1 = GFlashSimulator(model, seed=1).generate(args.showers)
    e2, s2 = GFlashSimulator(model, seed=2).generate(args.showers)
    s1, s2 = apply_threshold(s1, threshold), apply_threshold(s2, threshold)

    def features():
        f1, f2 = high_level_features(geometry, e1, s1), high_level_features(geometry, e2, s2)
        return f1, f2, separation_powers(f1, f2)

    t_features = median_seconds(features, args.repeats)
    f1, f2, _ = features()
    h1, h2 = scale_by_reference(high_level_inputs(geometry, e1, s1), high_level_inputs(geometry, e2, s2))
    t_fpd_kpd = median_seconds(lambda: (fpd(h1, h2), kpd(h1, h2)), args.repeats)
    x1, x2 = low_level_inputs(e1, s1), low_level_inputs(e2, s2)
    t_classifier = median_seconds(lambda: classifier_test(x1, x2, config=args.classifier, device="cpu"), args.repeats)
    auc = classifier_test(x1, x2, config=args.classifier, device="cpu")["auc"]
    print(
        f"calo DS1 photons, {args.showers:,} + {args.showers:,} showers: features + separation power "
        f"{t_features:.2f} s, FPD + KPD {t_fpd_kpd:.1f} s, classifier ({args.classifier}) {t_classifier:.1f} s "
        f"(AUC reference vs reference {auc:.3f})"
    )
    result["calo"] = {
        "n_showers": args.showers,
        "features_seconds": t_features,
        "fpd_kpd_seconds": t_fpd_kpd,
        "classifier": args.classifier,
        "classifier_seconds": t_classifier,
        "auc_reference_vs_reference": auc,
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
