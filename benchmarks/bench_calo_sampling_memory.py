"""Peak memory and time of sampling a calorimeter generator, per sampling batch size.

Usage: python benchmarks/bench_calo_sampling_memory.py [--method calo-flow] [--geometry ds2]
       [--train-showers 1000] [--showers 3000] [--batch-sizes 1000,default] [--json out.json]

For each batch size a fresh process trains the generator at ``tiny`` size for one epoch on
GFlash showers, then samples ``--showers`` showers ``batch`` at a time (``default``: the
generator's memory-budgeted batch). Reported: the process's peak resident memory after
training and after sampling (GB), and ms per shower. A fresh process per batch size keeps the
peaks apart (the kernel reports one high-water mark per process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from timing import machine


def measure(method: str, geometry: str, n_train: int, n_showers: int, batch: str) -> dict:
    import numpy as np
    import torch

    from hepbench import challenges
    from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model

    torch.set_num_threads(2)
    energy, showers = GFlashSimulator(geometry, seed=1).generate(n_train)
    model = challenges.get("calo").baseline(method).factory("tiny", "cpu", 0)
    model.epochs = 1
    model.fit(energy, showers, detector_model(geometry).geometry)
    after_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    size = model.default_sample_batch if batch == "default" else int(batch)
    start = time.perf_counter()
    model.sample(np.resize(energy, n_showers), seed=0, batch_size=size)
    seconds = time.perf_counter() - start
    return {
        "method": method,
        "geometry": geometry,
        "batch_size": size,
        "requested": batch,
        "peak_gb_after_training": after_fit,
        "peak_gb_after_sampling": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "ms_per_shower": 1e3 * seconds / n_showers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="calo-flow")
    parser.add_argument("--geometry", default="ds2")
    parser.add_argument("--train-showers", type=int, default=1000)
    parser.add_argument("--showers", type=int, default=3000)
    parser.add_argument("--batch-sizes", default="1000,default")
    parser.add_argument("--json", default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process's batch size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.method, args.geometry, args.train_showers, args.showers, args.one)))
        return
    rows = []
    for batch in args.batch_sizes.split(","):
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--method",
                args.method,
                "--geometry",
                args.geometry,
                "--train-showers",
                str(args.train_showers),
                "--showers",
                str(args.showers),
                "--one",
                batch,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{row['method']} {row['geometry']} batch {row['batch_size']:>6} ({row['requested']}): peak "
            f"{row['peak_gb_after_training']:.2f} GB after training, {row['peak_gb_after_sampling']:.2f} GB after "
            f"sampling, {row['ms_per_shower']:.2f} ms per shower",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
