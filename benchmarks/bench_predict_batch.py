"""Scoring throughput of a HiggsML network by batch size (``predict_logits``), one device.

Usage: python benchmarks/bench_predict_batch.py [--device cpu] [--threads 1] [--events 300000]
       [--hidden 256,256,256,256] [--batches 65536,16384,4096,1024] [--repeats 3] [--json out.json]

A pseudo-experiment of the `full` preset is about 920,000 events, and scoring them is most of a
network's time per pseudo-experiment; this reports seconds per 920,000 events (median over
repeats) for each batch size and checks that every batch size gives the same logits as the
first. Inputs are Gaussian: the timing depends on shapes, not on physics.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from timing import machine, median_seconds

from hepbench.torch_common import mlp, predict_logits

EVENTS_PER_PSEUDO_EXPERIMENT = 920_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--inputs", type=int, default=31)
    parser.add_argument("--hidden", default="256,256,256,256")
    parser.add_argument("--batches", default="65536,16384,4096,1024")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    network = mlp(args.inputs, tuple(int(h) for h in args.hidden.split(",")))
    x = np.random.default_rng(0).normal(size=(args.events, args.inputs)).astype(np.float32)
    rows = []
    reference = None
    for batch in (int(b) for b in args.batches.split(",")):
        logits = predict_logits(network, x, args.device, batch)
        reference = logits if reference is None else reference
        seconds = median_seconds(lambda b=batch: predict_logits(network, x, args.device, b), args.repeats)
        rows.append(
            {
                "batch": batch,
                "seconds_per_pseudo_experiment": seconds * EVENTS_PER_PSEUDO_EXPERIMENT / args.events,
                "max_abs_logit_difference": float(np.max(np.abs(logits - reference))),
            }
        )
        print(
            f"batch {batch:>6}: {rows[-1]['seconds_per_pseudo_experiment']:.2f} s per 920,000 events, "
            f"max |logit difference| {rows[-1]['max_abs_logit_difference']:.1e}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), **vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
