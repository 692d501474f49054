"""Sensitivity and training time of the LHCO anomaly detectors on the toy of challenges.lhco.testing.

Usage: python benchmarks/bench_lhco_baselines.py [--size small] [--background 400000]
       [--signal-over-background 0.006] [--mass-shift 0.0] [--seeds 0 1 2] [--methods supervised,cathode,...]
       [--min-background 25] [--device auto|cpu|cuda] [--threads 1] [--json out.json]

For each seed, draws data with a resonance injected at the given S/B inside the signal region,
a background reference (idealized AD) and a labelled set (supervised) from the toy, fits every
method and scores one large labelled signal-region test set shared by all seeds. Reports per
method the median over seeds of the ROC AUC, of the maximum significance improvement
SIC = eps_S / sqrt(eps_B) over cuts keeping at least ``--min-background`` (default 25) background
events of the test set (``hepbench.scoring.anomaly.max_sic``), and of the fit time.
The anchor's ordering on the LHCO R&D set is supervised >= idealized > CATHODE > CWoLa > ANODE >
autoencoder (SPEC section 2); the toy's numbers are not the anchor's.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from timing import machine

from hepbench.baselines.lhco.registry import BASELINES as LHCO_BASELINES
from hepbench.challenges.lhco.protocol import AnomalyInputs
from hepbench.challenges.lhco.schema import COLUMNS, LABEL, SIGNAL_REGION
from hepbench.challenges.lhco.testing import toy_events
from hepbench.scoring.anomaly import MIN_BACKGROUND, max_sic
from hepbench.torch_common import resolve_device

# Toy acceptances of the signal region 3.3-3.7 TeV: background exp(-0.7/0.55) - exp(-1.1/0.55),
# signal a +-2 sigma window of its Gaussian mjj peak.
BACKGROUND_IN_SR = float(np.exp(-0.7 / 0.55) - np.exp(-1.1 / 0.55))
SIGNAL_IN_SR = 0.9545


def in_sr(frame):
    return frame[(frame.mjj > SIGNAL_REGION[0]) & (frame.mjj < SIGNAL_REGION[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"))
    parser.add_argument("--background", type=int, default=400_000, help="background events over all mjj")
    parser.add_argument("--signal-over-background", type=float, default=0.006, help="S/B in the signal region")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", default=",".join(LHCO_BASELINES))
    parser.add_argument(
        "--mass-shift",
        type=float,
        default=0.0,
        help="add this times mjj to m_j1 and delta_m (0.1: the CATHODE paper's correlated features)",
    )
    parser.add_argument("--test-background", type=int, default=1_000_000, help="before the signal-region cut")
    parser.add_argument(
        "--min-background",
        type=float,
        default=MIN_BACKGROUND,
        help="max SIC only over cuts keeping at least this many test background events",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads: the networks are small, and one thread avoids oversubscribing shared cores",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    n_signal = int(round(args.signal_over_background * BACKGROUND_IN_SR * args.background / SIGNAL_IN_SR))
    test = in_sr(toy_events(args.test_background, args.test_background // 50, seed=10_000, mass_shift=args.mass_shift))
    print(
        f"test set: {int((test[LABEL] == 0).sum())} background, {int(test[LABEL].sum())} signal in the SR; "
        f"{n_signal} signal events injected per seed; device {device}",
        flush=True,
    )

    runs = []
    for seed in args.seeds:
        data = toy_events(args.background, n_signal, seed=seed, mass_shift=args.mass_shift)
        sr = in_sr(data)
        inputs = AnomalyInputs(
            data=data[list(COLUMNS)],
            background_reference=toy_events(args.background, 0, seed=seed + 1000, mass_shift=args.mass_shift)[
                list(COLUMNS)
            ],
            labelled=in_sr(
                toy_events(args.background, args.background // 20, seed=seed + 2000, mass_shift=args.mass_shift)
            ),
        )
        s_over_b = sr[LABEL].sum() / (len(sr) - sr[LABEL].sum())
        for method in methods:
            detector = LHCO_BASELINES[method].factory(args.size, device, seed)
            start = time.perf_counter()
            detector.fit(inputs)
            fit_seconds = time.perf_counter() - start
            scores = detector.predict(test)
            run = {
                "method": method,
                "seed": seed,
                "s_over_b": float(s_over_b),
                "fit_seconds": fit_seconds,
                "auc": float(roc_auc_score(test[LABEL], scores)),
                "max_sic": max_sic(test[LABEL].to_numpy(), scores, min_background=args.min_background).sic,
            }
            runs.append(run)
            print(
                f"seed {seed} S/B {s_over_b:.4f} {method:14s} AUC {run['auc']:.3f} max SIC {run['max_sic']:6.2f} "
                f"fit {fit_seconds:6.1f} s",
                flush=True,
            )

    print(
        f"\nmedian over seeds {args.seeds} (size {args.size}, {args.background} background events, "
        f"mass shift {args.mass_shift}; max SIC over cuts keeping at least {args.min_background:g} test background "
        "events):"
    )
    print(f"{'method':14s} {'AUC':>6s} {'max SIC':>8s} {'fit s':>7s}")
    summary = {}
    for method in methods:
        mine = [r for r in runs if r["method"] == method]
        summary[method] = {k: float(np.median([r[k] for r in mine])) for k in ("auc", "max_sic", "fit_seconds")}
        s = summary[method]
        print(f"{method:14s} {s['auc']:6.3f} {s['max_sic']:8.2f} {s['fit_seconds']:7.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "args": vars(args),
                    "device": device,
                    "machine": machine(),
                    "runs": runs,
                    "median": summary,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
