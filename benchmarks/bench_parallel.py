"""HiggsML Uncertainty test-plan evaluation: harness overhead, and scaling over Dask workers.

Usage: python benchmarks/bench_parallel.py [--preset small] [--sets 4] [--pseudo-experiments 25]
       [--workers 1,2] [--method bdt-template-fit] [--repeats 3] [--json out.json]

Reports, as the median over repeats:
- pseudo-experiments per second through the harness with a model that answers at once (draw,
  systematics, answer check, bookkeeping: the harness's own cost), serially;
- scoring time of the results (interval metrics + 1000 bootstrap replicas over sets);
- wall time of the whole plan with a trained baseline, serially and on a LocalCluster of 1, 2, ...
  worker processes (cluster start-up excluded, data scattering included), and whether every
  answer equals the serial run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from timing import machine, median_seconds

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset, load_dataset
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan, score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.parallel import dask_client

ANSWERS = ["mu_hat", "delta_mu_hat", "p16", "p84", "status"]


class ImmediateAnswer:
    """A model that costs nothing, so only the harness is timed."""

    def predict(self, data):
        return {"mu_hat": 1.0, "delta_mu_hat": 0.5, "p16": 0.5, "p84": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", default=None, help="data folder (default hepbench-data/higgs-uncertainty/PRESET-seedSEED)"
    )
    parser.add_argument("--sets", type=int, default=4)
    parser.add_argument("--pseudo-experiments", type=int, default=25)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--method", default="bdt-template-fit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    folder = args.data or f"hepbench-data/higgs-uncertainty/{args.preset}-seed{args.seed}"
    data = (
        load_dataset(folder)
        if os.path.exists(f"{folder}/train.parquet")
        else generate_dataset(args.preset, args.seed, folder)
    )
    plan = make_test_plan(args.sets, args.pseudo_experiments, initial_seed=0)
    n = len(plan)

    seconds = median_seconds(lambda: evaluate_plan(ImmediateAnswer(), data.test, plan, progress=False), args.repeats)
    harness_rate = n / seconds
    print(f"harness alone: {harness_rate:.1f} pseudo-experiments / s ({args.preset}, {n} PE, serial)")
    answers = evaluate_plan(ImmediateAnswer(), data.test, plan, progress=False)
    scoring_seconds = median_seconds(lambda: score_results(answers, n_bootstrap=1000), args.repeats)
    print(f"scoring {n} PE with 1000 bootstrap replicas: {scoring_seconds * 1e3:.1f} ms")

    start = time.perf_counter()
    model = challenges.get("higgs-uncertainty").baseline(args.method).factory(args.preset, "cpu", 0).fit(data.train)
    print(f"{args.method}: trained in {time.perf_counter() - start:.0f} s")
    serial = evaluate_plan(model, data.test, plan, progress=False)
    walls = {"serial": median_seconds(lambda: evaluate_plan(model, data.test, plan, progress=False), args.repeats)}
    identical = {}
    for workers in (int(w) for w in args.workers.split(",")):
        with dask_client("local", workers) as client:
            result = evaluate_plan(model, data.test, plan, progress=False, client=client)
            identical[workers] = bool(result[ANSWERS].equals(serial[ANSWERS]))
            walls[f"{workers} workers"] = median_seconds(
                lambda: evaluate_plan(model, data.test, plan, progress=False, client=client), args.repeats
            )
    for key, wall in walls.items():
        print(f"{args.method}, {n} PE, {key}: {wall:.1f} s ({walls['serial'] / wall:.2f}x serial)")
    print(f"answers identical to the serial run: {identical}")
    result = {
        "machine": machine(),
        "python": platform.python_version(),
        "preset": args.preset,
        "n_pseudo_experiments": n,
        "harness_pseudo_experiments_per_second": harness_rate,
        "scoring_seconds": scoring_seconds,
        "method": args.method,
        "plan_wall_seconds": walls,
        "identical_to_serial": identical,
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
