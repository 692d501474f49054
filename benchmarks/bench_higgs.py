"""Throughput of the HiggsML Uncertainty generator, pseudo-experiment sampler and inference.

Usage: python benchmarks/bench_higgs.py [--repeats 3] [--events 100000] [--json out.json]
       python benchmarks/bench_higgs.py --draws-only [--method bdt-likelihood-ratio]

Reports, as the median over repeats: accepted events per second of each process; pseudo-
experiments drawn per second (Poisson draw + systematics + cuts, no model) on the small preset's
test split; and the projected time to generate each preset. ``--method`` also trains that
baseline's tiny configuration on the tiny preset and times its answer to one pseudo-experiment
(the model's scoring and inference; the draw excluded). ``--draws-only`` skips the generator rates.
"""

from __future__ import annotations

import argparse
import json
import platform
from typing import Any

import numpy as np
from timing import machine, median_seconds

from hepbench.challenges.higgs_uncertainty.generator import generate_events, generate_process
from hepbench.challenges.higgs_uncertainty.presets import PRESETS
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import PseudoExperimentSampler, make_test_plan
from hepbench.challenges.higgs_uncertainty.schema import PROCESSES


def generator_rates(args: argparse.Namespace) -> dict[str, Any]:
    """Accepted events per second of each process and the projected time of each preset."""
    rate = {}
    for process in PROCESSES:
        seconds = median_seconds(lambda: generate_process(process, args.events, np.random.default_rng(0)), args.repeats)
        rate[process] = args.events / seconds
        print(f"{process:8s} {rate[process]:10,.0f} events/s")
    projected = {
        name: sum((p.train_events[k] + p.test_events[k]) / rate[k] for k in PROCESSES) for name, p in PRESETS.items()
    }
    for name, seconds in projected.items():
        print(f"preset {name:5s}: about {seconds:7.0f} s to generate (one core, feature computation excluded)")
    return {"events_per_second": rate, "projected_generation_seconds": projected}


def draws_per_second(args: argparse.Namespace) -> float:
    """Pseudo-experiments of the small preset (~50k events each) drawn per second."""
    small = PRESETS["small"]
    test = generate_events(small.test_events, seed=0, luminosity_fb=small.luminosity_fb)
    sampler = PseudoExperimentSampler(test)
    plan = make_test_plan(1, args.pseudo_experiments, initial_seed=0)
    seconds = median_seconds(lambda: [plan.draw(sampler, 0, k) for k in range(args.pseudo_experiments)], args.repeats)
    rate = args.pseudo_experiments / seconds
    print(f"pseudo-experiments (small preset, ~50k events each): {rate:.1f} per second")
    return rate


def predict_seconds(method: str, args: argparse.Namespace) -> float:
    """Median seconds of ``method``'s answer to one tiny-preset pseudo-experiment (drawn beforehand)."""
    from hepbench import challenges
    from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset

    data = generate_dataset("tiny", seed=0)
    estimator = challenges.get("higgs-uncertainty").baseline(method).factory("tiny", "cpu", 0).fit(data.train)
    sampler = PseudoExperimentSampler(data.test)
    plan = make_test_plan(1, args.pseudo_experiments, initial_seed=0)
    drawn = [plan.draw(sampler, 0, k) for k in range(args.pseudo_experiments)]
    seconds = median_seconds(lambda: [estimator.predict(d) for d in drawn], args.repeats) / len(drawn)
    print(f"{method}: {seconds:.3f} s per tiny pseudo-experiment (~100k events), draw excluded")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pseudo-experiments", type=int, default=20)
    parser.add_argument("--draws-only", action="store_true", help="skip the generator rates")
    parser.add_argument("--method", default=None, help="also time this baseline's answers (tiny preset)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    result: dict[str, Any] = {
        "machine": machine(),
        "python": platform.python_version(),
    }
    if not args.draws_only:
        result.update(generator_rates(args))
    result["pseudo_experiments_per_second_small"] = draws_per_second(args)
    if args.method:
        result["predict_seconds_tiny"] = {args.method: predict_seconds(args.method, args)}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
