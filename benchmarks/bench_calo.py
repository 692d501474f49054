"""GFlash generator speed and calo evaluation: how well the metrics separate detector variations.

Usage: python benchmarks/bench_calo.py [--geometry ds1-photons] [--showers 3000]
       [--classifier small] [--runs 2] [--device auto] [--speed-only] [--json out.json]

1. Generation speed (showers/s, median of 3) of the GFlash simulator for DS1 photons, DS2 and DS3,
   and per-shower time at batch sizes 1, 100, 10000 (mean +- std) for the chosen geometry.
2. A reference sample scored against an independent sample of the same simulator and against
   samples of systematically varied detectors (energy scale, sampling fraction, X0, Z): AUC
   low/high level, JSD, FPD, KPD, mean separation power, and the wall time of each evaluation.
"""

from __future__ import annotations

import argparse
import json
import time

from timing import machine, median_seconds

from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model, vary
from hepbench.scoring.calo import evaluate, generation_timing

VARIANTS = {
    "independent sample": {},
    "energy scale +2%": {"energy_scale": 1.02},
    "sampling fraction -10%": {"sampling_fraction_scale": 0.9},
    "X0 +10%": {"x0_scale": 1.1},
    "Z -10": {"z_shift": -10.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometry", default="ds1-photons")
    parser.add_argument("--showers", type=int, default=3000)
    parser.add_argument("--classifier", default="small")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the generation speed (no evaluations)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result: dict = {"machine": machine(), "args": vars(args)}

    if not args.skip_speed:
        speed = {}
        for geometry, n in (("ds1-photons", 2000), ("ds2", 1000), ("ds3", 300)):
            simulator = GFlashSimulator(geometry, seed=0)
            energy = simulator.sample_energies(n)
            speed[geometry] = n / median_seconds(lambda: simulator.sample(energy), 3)
            print(f"{geometry}: {speed[geometry]:,.0f} showers/s")
        result["showers_per_second"] = speed
        simulator = GFlashSimulator(args.geometry, seed=0)
        result["timing_ms"] = generation_timing(simulator.sample, simulator.sample_energies(10_000), repeats=3)
        print("ms per shower:", result["timing_ms"])
        if args.speed_only:
            print(json.dumps(result, default=float)[:400])
            return

    model = detector_model(args.geometry)
    reference = GFlashSimulator(model, seed=1).generate(args.showers)
    rows = {}
    for i, (name, kwargs) in enumerate(VARIANTS.items()):
        sample = GFlashSimulator(vary(model, **kwargs), seed=100 + i).generate(args.showers)
        start = time.perf_counter()
        scores = evaluate(
            model.geometry,
            reference,
            sample,
            classifier=args.classifier,
            n_runs=args.runs,
            device=args.device,
            kpd_batch_size=min(5000, args.showers),
        )
        row = scores.to_dict()
        row.pop("separation_powers")
        row["seconds"] = time.perf_counter() - start
        rows[name] = row
        print(
            f"{name:>24}: AUC low {row['auc_low']:.3f}+-{row['auc_low_std']:.3f} high {row['auc_high']:.3f}"
            f"+-{row['auc_high_std']:.3f}  FPD {row['fpd']:.4f}+-{row['fpd_err']:.4f}  KPD {row['kpd']:.2e}"
            f"  sep {row['separation_power_mean']:.4f}  ({row['seconds']:.0f} s)",
            flush=True,
        )
    result["variants"] = rows
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2, default=float)
    print(json.dumps(result, default=float)[:200])


if __name__ == "__main__":
    main()
