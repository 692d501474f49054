"""Training throughput of the HiggsML Uncertainty classifiers on one device.

Usage: python benchmarks/bench_training.py [--device auto|cpu|cuda] [--events 200000]
       [--epochs 2] [--repeats 3] [--json out.json]

Reports, as the median over repeats, training events per second (events x epochs / wall time)
of the shared torch loop for the small preset's networks (shallow and deep, plain, FGSM and
adversarial), and the xgboost BDT's fit time on the same events. Inputs are 28 standardised
Gaussian features with a shifted signal class: the timing depends on shapes, not on physics.
Run it once with --device cpu and once with --device cuda to compare the two paths.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from timing import machine, median_seconds

from hepbench.torch_common import TrainingConfig, mlp, resolve_device, train_classifier

NETWORKS = {
    "shallow (64)": ((64,), {}),
    "deep (128x3)": ((128, 128, 128), {}),
    "deep + FGSM": ((128, 128, 128), {"fgsm_epsilon": 0.01}),
    "deep + adversary": ((128, 128, 128), {"adversary_weight": 1.0}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    device = resolve_device(args.device)
    rng = np.random.default_rng(0)
    y = (rng.random(args.events) < 0.5).astype(float)
    x = rng.normal(size=(args.events, 28)).astype(np.float32) + 0.3 * y[:, None].astype(np.float32)
    w = np.ones(args.events)
    nuisance = rng.normal(size=(args.events, 3))

    results: dict[str, float] = {}
    for name, (hidden, options) in NETWORKS.items():
        config = TrainingConfig(epochs=args.epochs, batch_size=args.batch_size, **options)

        def train() -> None:
            train_classifier(mlp(28, hidden), x, y, w, config, nuisance=nuisance, device=device, seed=0)
            if device == "cuda":
                torch.cuda.synchronize()

        seconds = median_seconds(train, args.repeats, warmup=True)
        results[f"{name}: events/s"] = args.events * args.epochs / seconds
        print(f"{name:>18}: {results[f'{name}: events/s']:>12,.0f} training events/s ({device})")

    import xgboost as xgb

    def fit_bdt() -> None:
        xgb.XGBClassifier(n_estimators=200, max_depth=5, tree_method="hist", device=device).fit(x, y)

    try:
        results["bdt (200 trees, depth 5): fit seconds"] = median_seconds(fit_bdt, args.repeats, warmup=True)
    except xgb.core.XGBoostError as err:  # an xgboost build without CUDA
        print(f"xgboost on {device}: {err}")
    else:
        print(f"{'bdt 200 x depth 5':>18}: {results['bdt (200 trees, depth 5): fit seconds']:.1f} s fit ({device})")

    if args.json:
        meta = {
            "device": device,
            "events": args.events,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": machine(),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
