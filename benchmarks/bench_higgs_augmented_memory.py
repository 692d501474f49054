"""Peak memory of a HiggsML classifier's training set on shifted copies, per augmented row.

Usage: python benchmarks/bench_higgs_augmented_memory.py [--method nn-parameterised-template-fit]
       [--size full] [--preset small] [--seed 0] [--data DIR] [--json out.json]

Takes the classifier's share of the train split as the baseline does, builds the recipe's
shifted copies, and trains the recipe's classifier for one epoch with a one-layer network of 8
units and 65,536-row batches (the input arrays are those of the real network; its weights are
not what is measured). A thread samples the resident memory every 20 ms; reported per stage
(the loaded data, the copies built, the training) are the peak above the memory before the
stage began and what the stage leaves resident (GB, and bytes per augmented row). The held
memory grows with the rows; the peaks also hold block-sized work arrays of fixed size (about
0.3 GB), so read a larger preset's need off the held bytes per row plus those: the parameterised
network at `full-x4` trains on about 46 million rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from timing import machine


class ResidentPeak:
    """The highest resident memory (bytes) seen since the last ``reset``, sampled every 20 ms."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.now()
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def now(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.now())

    def stage(self, work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
        """Run ``work``; its result, and its peak and held memory above the memory before it
        (bytes) with its seconds."""
        gc.collect()
        before = self.peak = self.now()
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        gc.collect()
        self.peak = max(self.peak, self.now())
        return result, {"peak": self.peak - before, "held": self.now() - before, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="nn-parameterised-template-fit")
    parser.add_argument("--size", default="full", help="model configuration (its number of copies)")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="data folder of `hepbench data generate` (generated if absent)")
    parser.add_argument("--json")
    args = parser.parse_args()

    import torch

    from hepbench import challenges
    from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset, load_dataset, split_mask, weighted_part

    torch.set_num_threads(2)
    memory = ResidentPeak()
    estimator = challenges.get("higgs-uncertainty").baseline(args.method).factory(args.size, "cpu", args.seed)

    def load() -> Any:
        dataset = load_dataset(args.data) if args.data else generate_dataset(args.preset, args.seed)
        share = split_mask(len(dataset.train), estimator.classifier_fraction, args.seed)
        return dataset.preset, weighted_part(dataset.train, share)

    (preset, events), loaded = memory.stage(load)
    built, copies = memory.stage(partial(estimator.augmentation.build, events))
    del events
    clf = estimator.classifier
    clf.hidden, clf.epochs, clf.batch_size = (8,), 1, 65536
    # The training's held memory: its input arrays, measured at the end of its one epoch.
    held_in_training: dict[str, int] = {}
    start = memory.now()
    _, training = memory.stage(
        lambda: clf.fit(
            built,
            built["labels"].to_numpy(),
            built["weights"].to_numpy(),
            on_epoch=lambda record: held_in_training.setdefault("bytes", memory.now() - start),
        )
    )
    training["held"] = held_in_training["bytes"]
    rows = len(built)
    stages = {"classifier_share": loaded, "copies": copies, "training": training}
    record = {
        "method": args.method,
        "size": args.size,
        "preset": preset,
        "augmented_rows": rows,
        "frame_bytes_per_row": float(built.memory_usage(deep=False).sum()) / rows,
        "gb": {name: {k: v / 1e9 for k, v in s.items() if k != "seconds"} for name, s in stages.items()},
        "bytes_per_row": {
            name: {k: v / rows for k, v in stages[name].items() if k != "seconds"} for name in ("copies", "training")
        },
        "seconds": {name: stages[name]["seconds"] for name in ("copies", "training")},
        "machine": machine(),
    }
    print(json.dumps(record, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(record, out, indent=1)


if __name__ == "__main__":
    main()
