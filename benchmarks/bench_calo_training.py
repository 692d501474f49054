"""Training time and size of every calorimeter shower generator on one geometry.

Usage: python benchmarks/bench_calo_training.py [--geometry binning_dataset_2.xml] [--size small]
       [--showers 2000] [--epochs 2] [--device cpu] [--threads N] [--json out.json]

Each generator of the registry is built at ``--size`` for the geometry (default: data set 1
photons, shipped in ``hepbench.reference_data``) and trained on ``--showers`` test-sampler showers.
``--epochs`` overrides the preset's epoch count (0 keeps the preset); the script prints the
number of parameters, the wall time of the fit, seconds per epoch per 1000 showers, and the
preset's projected training time on the same number of showers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from timing import machine

from hepbench import reference_data
from hepbench.baselines.calo.registry import BASELINES as CALO_BASELINES
from hepbench.challenges.calo.geometry import read_binning_xml
from hepbench.challenges.calo.testing import sample_test_showers
from hepbench.torch_common import resolve_device

DEFAULT_XML = reference_data.path("calo-binning") / "binning_dataset_1_photons.xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometry", type=Path, default=DEFAULT_XML)
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"))
    parser.add_argument("--showers", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2, help="0: the preset's epochs")
    parser.add_argument("--methods", default=",".join(CALO_BASELINES))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    geometry = read_binning_xml(args.geometry)
    energy, showers = sample_test_showers(geometry, args.showers, seed=0)
    results = []
    for name in args.methods.split(","):
        model = CALO_BASELINES[name].factory(args.size, device, 0)
        preset_epochs = model.epochs
        if args.epochs:
            model.epochs = args.epochs
        model.fit(energy, showers, geometry)
        # The set-up (preprocessing, creating the networks) is paid once per fit, not per epoch.
        setup = model.setup_seconds_
        per_epoch = (model.training_seconds_ - setup) / max(len(model.history_), 1)
        record = {
            "method": name,
            "n_parameters": model.n_parameters,
            "epochs": model.epochs,
            "fit_seconds": model.training_seconds_,
            "setup_seconds": setup,
            "seconds_per_epoch_per_1000": per_epoch * 1000 / args.showers,
            "preset_epochs": preset_epochs,
            "projected_preset_seconds": setup + per_epoch * preset_epochs,
            "final_loss": model.history_[-1] if model.history_ else None,
        }
        results.append(record)
        print(
            f"{name:>20}: {model.n_parameters:>11,} parameters, fit {model.training_seconds_:8.1f} s "
            f"(set-up {setup:.1f} s) for {model.epochs} epochs ({record['seconds_per_epoch_per_1000']:.2f} s / epoch / 1000 showers); "
            f"preset {preset_epochs} epochs ~ {record['projected_preset_seconds'] / 60:.1f} min",
            flush=True,
        )
    if args.json:
        meta = {
            "geometry": geometry.name,
            "n_voxels": geometry.n_voxels,
            "size": args.size,
            "showers": args.showers,
            "device": device,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": machine(),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
