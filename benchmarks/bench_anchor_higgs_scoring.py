"""HiggsML Uncertainty scoring, side by side with the FAIR Universe scoring program.

Usage: python benchmarks/bench_anchor_higgs_scoring.py --anchor PATH [--sets 100]
       [--pseudo-experiments 1000] [--repeats 3] [--json out.json]

PATH is a checkout of the public FAIR Universe HEP-Challenge repository (the folder holding
``scoring_program/score.py``); without it the script says so and exits 0. Both implementations
score the same answers (seeded, with deliberately imperfect intervals so every branch of the
coverage penalty is reached); the script reports the largest absolute difference of each
metric and both wall times (median of repeats).

The anchor's headline RMSE and MAE are means of per-pseudo-experiment values (its loop scores
each answer alone, then averages within a set and over sets). For MAE that equals the SPEC
formula over all pseudo-experiments; for RMSE it does not: the SPEC formula takes the square
root of the means, the scoring program the mean of the square roots. The script compares
hepbench's functions applied in the anchor's way (one pseudo-experiment at a time) - the
formula per answer - and prints the SPEC aggregate beside it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from timing import machine, median_seconds

from hepbench.scoring.intervals import interval_metrics, mae, rmse


def load_anchor(path: Path):
    score_py = path / "scoring_program" / "score.py"
    spec = importlib.util.spec_from_file_location("fair_universe_score", score_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Scoring


def answers(n_sets: int, n_pe: int, seed: int) -> tuple[np.ndarray, list[dict[str, list[float]]]]:
    rng = np.random.default_rng(seed)
    mus = rng.uniform(0.1, 3.0, n_sets)
    sets = []
    for mu in mus:
        # Per-set interval scale so that some sets under-cover, some cover and some over-cover.
        sigma = rng.uniform(0.1, 0.5)
        scale = rng.choice([0.6, 1.0, 1.6])
        mu_hat = mu + rng.normal(0, sigma, n_pe)
        delta = np.full(n_pe, sigma * scale)
        sets.append(
            {
                "mu_hats": mu_hat.tolist(),
                "delta_mu_hats": delta.tolist(),
                "p16": (mu_hat - delta).tolist(),
                "p84": (mu_hat + delta).tolist(),
            }
        )
    return mus, sets


def anchor_scores(scoring_class, mus, sets) -> dict[str, float]:
    scoring = scoring_class()
    scoring.ingestion_results = sets
    scoring.ingestion_duration = 0.0
    scoring.compute_scores({"ground_truth_mus": list(mus)}, no_html=True)
    d = scoring.scores_dict
    return {
        "width": d["interval"],
        "coverage": d["coverage"],
        "coverage_score": d["quantiles_score"],
        "rmse_mean_over_sets": d["rmse"],
        "mae_mean_over_sets": d["mae"],
    }


def hepbench_scores(mus, sets) -> dict[str, float]:
    mu_true = np.concatenate([np.full(len(s["p16"]), mu) for mu, s in zip(mus, sets)])
    arrays = {k: np.concatenate([np.asarray(s[k]) for s in sets]) for k in ("mu_hats", "delta_mu_hats", "p16", "p84")}
    overall = interval_metrics(mu_true, arrays["mu_hats"], arrays["delta_mu_hats"], arrays["p16"], arrays["p84"])
    per_set = [
        (
            np.mean([rmse([mu], [m], [d]) for m, d in zip(s["mu_hats"], s["delta_mu_hats"])]),
            np.mean([mae([mu], [m], [d]) for m, d in zip(s["mu_hats"], s["delta_mu_hats"])]),
        )
        for mu, s in zip(mus, sets)
    ]
    return {
        "width": overall["width"],
        "coverage": overall["coverage"],
        "coverage_score": overall["coverage_score"],
        "rmse_mean_over_sets": float(np.mean([r for r, _ in per_set])),
        "mae_mean_over_sets": float(np.mean([m for _, m in per_set])),
        "rmse_spec": overall["rmse"],
        "mae_spec": overall["mae"],
    }


def hepbench_headline(mus, sets) -> dict[str, float]:
    """What the hepbench scorer computes (timed): every metric over all pseudo-experiments."""
    mu_true = np.concatenate([np.full(len(s["p16"]), mu) for mu, s in zip(mus, sets)])
    arrays = {k: np.concatenate([np.asarray(s[k]) for s in sets]) for k in ("mu_hats", "delta_mu_hats", "p16", "p84")}
    return interval_metrics(mu_true, arrays["mu_hats"], arrays["delta_mu_hats"], arrays["p16"], arrays["p84"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None, help="checkout of FAIR-Universe/HEP-Challenge")
    parser.add_argument("--sets", type=int, default=100)
    parser.add_argument("--pseudo-experiments", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.anchor is None or not (args.anchor / "scoring_program" / "score.py").exists():
        print("skipped: pass --anchor PATH, a checkout of FAIR-Universe/HEP-Challenge with scoring_program/score.py")
        return
    scoring_class = load_anchor(args.anchor)
    mus, sets = answers(args.sets, args.pseudo_experiments, args.seed)

    theirs, ours = anchor_scores(scoring_class, mus, sets), hepbench_scores(mus, sets)
    differences = {k: abs(theirs[k] - ours[k]) for k in theirs}
    for key in theirs:
        print(f"{key:22s} anchor {theirs[key]:.15g}  hepbench {ours[key]:.15g}  |diff| {differences[key]:.2e}")
    print(f"SPEC aggregate over all pseudo-experiments: rmse {ours['rmse_spec']:.15g}, mae {ours['mae_spec']:.15g}")
    # The anchor prints a check mark per call; keep it out of the timing output.
    devnull = open("/dev/null", "w")  # noqa: SIM115
    stdout, sys.stdout = sys.stdout, devnull
    try:
        anchor_seconds = median_seconds(lambda: anchor_scores(scoring_class, mus, sets), args.repeats)
    finally:
        sys.stdout = stdout
    ours_seconds = median_seconds(lambda: hepbench_headline(mus, sets), args.repeats)
    n = args.sets * args.pseudo_experiments
    print(
        f"{n:,} pseudo-experiments: anchor {anchor_seconds * 1e3:.1f} ms, hepbench {ours_seconds * 1e3:.1f} ms "
        f"({anchor_seconds / ours_seconds:.1f}x faster)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "n_sets": args.sets,
                    "n_pseudo_experiments": args.pseudo_experiments,
                    "anchor": theirs,
                    "hepbench": ours,
                    "abs_difference": differences,
                    "anchor_seconds": anchor_seconds,
                    "hepbench_seconds": ours_seconds,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
