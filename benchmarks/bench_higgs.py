"""Throughput of the HiggsML Uncertainty generator and pseudo-experiment sampler.

Usage: python benchmarks/bench_higgs.py [--repeats 3] [--events 100000] [--json out.json]

Reports, as the median over repeats: accepted events per second of each process; pseudo-
experiments drawn per second (Poisson draw + systematics + cuts, no model) on the small preset's
test split; and the projected time to generate each preset.
"""

from __future__ import annotations

import argparse
import json
import platform

import numpy as np
from timing import median_seconds

from hepbench.challenges.higgs_uncertainty.generator import generate_events, generate_process
from hepbench.challenges.higgs_uncertainty.presets import PRESETS
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import PseudoExperimentSampler, make_test_plan
from hepbench.challenges.higgs_uncertainty.schema import PROCESSES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pseudo-experiments", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

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

    small = PRESETS["small"]
    test = generate_events(small.test_events, seed=0, luminosity_fb=small.luminosity_fb)
    sampler = PseudoExperimentSampler(test)
    plan = make_test_plan(1, args.pseudo_experiments, initial_seed=0)
    seconds = median_seconds(lambda: [plan.draw(sampler, 0, k) for k in range(args.pseudo_experiments)], args.repeats)
    pe_rate = args.pseudo_experiments / seconds
    print(f"pseudo-experiments (small preset, ~50k events each): {pe_rate:.1f} per second")
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "python": platform.python_version(),
        "events_per_second": rate,
        "projected_generation_seconds": projected,
        "pseudo_experiments_per_second_small": pe_rate,
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
