"""Generation time per shower of every calorimeter shower generator.

Usage: python benchmarks/bench_calo_generation.py [--geometry binning_dataset_1_photons.xml]
       [--size tiny] [--epochs 1] [--batch-sizes 1,100,10000] [--repeats 5] [--device cpu,cuda]
       [--threads N] [--json out.json]

Each generator of the registry is built at ``--size`` for the geometry (default: data set 1
photons, shipped in ``hepbench.reference_data``), trained for ``--epochs`` on test-sampler showers
(the timing depends on the network shapes and sampling steps, not on how well it is trained),
then timed generating showers at each batch size: ms per shower, mean +- std over ``--repeats``
calls after one warm-up call. ``--device`` defaults to cpu, plus cuda when a GPU is present.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch
from timing import machine, repeat_seconds

from hepbench import reference_data
from hepbench.baselines.calo.registry import BASELINES as CALO_BASELINES
from hepbench.challenges.calo.geometry import read_binning_xml
from hepbench.challenges.calo.testing import sample_test_showers
from hepbench.torch_common import cuda_available

DEFAULT_XML = reference_data.path("calo-binning") / "binning_dataset_1_photons.xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometry", type=Path, default=DEFAULT_XML)
    parser.add_argument("--size", default="tiny", choices=("tiny", "small", "full"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-showers", type=int, default=1000)
    parser.add_argument("--batch-sizes", default="1,100,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", default=",".join(CALO_BASELINES))
    parser.add_argument("--device", default=None, help="comma-separated; default cpu (and cuda when present)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device.split(",") if args.device else ["cpu"] + (["cuda"] if cuda_available() else [])
    geometry = read_binning_xml(args.geometry)
    energy, showers = sample_test_showers(geometry, args.train_showers, seed=0)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    rng = np.random.default_rng(1)
    results = []
    for device in devices:
        for name in args.methods.split(","):
            model = CALO_BASELINES[name].factory(args.size, device, 0)
            model.epochs = args.epochs
            model.fit(energy, showers, geometry)
            for batch in batch_sizes:
                incident = np.exp(rng.uniform(np.log(1e3), np.log(1e5), batch))

                def generate() -> None:
                    model.sample(incident, seed=0, batch_size=batch)
                    if device == "cuda":
                        torch.cuda.synchronize()

                times = [1e3 * t / batch for t in repeat_seconds(generate, args.repeats, warmup=True)]
                mean, std = statistics.mean(times), statistics.stdev(times) if len(times) > 1 else 0.0
                results.append(
                    {
                        "method": name,
                        "device": device,
                        "batch_size": batch,
                        "ms_per_shower_mean": mean,
                        "ms_per_shower_std": std,
                        "n_parameters": model.n_parameters,
                    }
                )
                print(
                    f"{name:>20} {device:>4} batch {batch:>6}: {mean:10.4f} +- {std:.4f} ms/shower "
                    f"({model.n_parameters:,} parameters)",
                    flush=True,
                )
    if args.json:
        meta = {
            "geometry": geometry.name,
            "n_voxels": geometry.n_voxels,
            "size": args.size,
            "repeats": args.repeats,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": machine(),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
