"""Calorimeter classifier metric (AUC, JSD), side by side with the CaloChallenge ``evaluate.py``.

Usage: python benchmarks/bench_anchor_calo_classifier.py --anchor PATH [--geometry ds1-photons]
       [--showers 3000] [--scales 1.02,1.10] [--config small] [--seeds 0,1,2,3,4] [--json out.json]

PATH is the ``code`` folder of a checkout of the public CaloChallenge homepage repository
(``evaluate.py``, ``HighLevelFeatures.py``, ``XMLHandler.py``, ``evaluate_plotting_helper.py``,
``resnet.py`` and the binning XMLs); without it the script says so and exits 0. The anchor's
functions are imported from PATH and run unchanged on CPU: ``prepare_low_data_for_classifier``,
``prepare_high_data_for_classifier``, ``ttv_split``, ``DNN``, ``train_and_evaluate_cls``,
``load_classifier`` and ``evaluate_cls`` (isotonic calibration on the test split), with the
network size, learning rate, batch size and epochs of hepbench's ``--config`` classifier.

Both implementations see the SAME showers: a GFlash reference sample and a generated sample (an
independent GFlash sample at the same incident energies with every voxel scaled by each of
``--scales``), the evaluation threshold applied. The script checks that the anchor's prepared
inputs equal hepbench's (largest absolute difference), then trains each classifier once per
seed of ``--seeds`` (the anchor seeded through ``np.random.seed`` / ``torch.manual_seed``,
hepbench through ``seed``) and reports the mean and standard deviation of AUC and JSD over the
trainings, and the difference of the means in units of their combined spread.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from timing import machine

from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model
from hepbench.scoring.calo import (
    CLASSIFIER_SIZES,
    ClassifierConfig,
    apply_threshold,
    classifier_test,
    evaluation_threshold,
    high_level_inputs,
    low_level_inputs,
)

ANCHOR_DATASET = {"ds1-photons": "1-photons", "ds1-pions": "1-pions", "ds2": "2", "ds3": "3"}
PARTICLE = {"ds1-photons": "photon", "ds1-pions": "pion", "ds2": "electron", "ds3": "electron"}


def import_anchor(path: Path) -> Any:
    """The anchor's ``evaluate`` module, imported from its folder (it sets torch's default dtype to float64)."""
    import matplotlib

    matplotlib.use("Agg")
    sys.path.insert(0, str(path))
    import evaluate  # the anchor's module, from PATH

    return evaluate


def anchor_arrays(
    ev: Any, anchor: Path, geometry: str, energy: np.ndarray, showers: np.ndarray, label: float
) -> dict[str, np.ndarray]:
    """The anchor's low- and high-level classifier arrays (last column: the label), built as its
    ``__main__`` does: features of the thresholded showers, inputs from the file's arrays."""
    dataset = ANCHOR_DATASET[geometry]
    threshold = {"1-photons": 1.0, "1-pions": 1.0, "2": 0.5e-3 / 0.033, "3": 0.5e-3 / 0.033}[dataset]
    xml = anchor / f"binning_dataset_{dataset.replace('-', '_')}.xml"
    file_like = {"showers": showers, "incident_energies": energy.reshape(-1, 1)}
    with contextlib.redirect_stdout(io.StringIO()):
        hlf = ev.HLF.HighLevelFeatures(PARTICLE[geometry], filename=str(xml))
        hlf.CalculateFeatures(np.where(showers < threshold, 0.0, showers))
        hlf.Einc = energy.reshape(-1, 1)
        low = ev.prepare_low_data_for_classifier(file_like, hlf, label, normed=False, threshold=threshold)
        high = ev.prepare_high_data_for_classifier(file_like, hlf, label, threshold=threshold)
    return {"low": low, "high": high}


def anchor_classifier(
    ev: Any, generated: np.ndarray, reference: np.ndarray, config: ClassifierConfig, seed: int, geometry: str
) -> dict[str, float]:
    """AUC and JSD of one training of the anchor's classifier (its own split, loop and calibration)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    np.random.seed(seed)  # noqa: NPY002 - the anchor's ttv_split shuffles with the global generator
    torch.manual_seed(seed)
    train, test, val = ev.ttv_split(generated.copy(), reference.copy())  # 60 / 20 / 20 per class
    with tempfile.TemporaryDirectory() as out:
        args = argparse.Namespace(
            mode="cls-low",
            dataset=ANCHOR_DATASET[geometry],
            output_dir=out,
            save_mem=False,
            device=torch.device("cpu"),
            cls_n_epochs=config.epochs,
        )
        # The anchor's DNN: an input layer, then cls_n_layer hidden layers (hepbench counts all).
        model = ev.DNN(
            num_layer=config.n_layers - 1,
            num_hidden=config.hidden,
            input_dim=train.shape[1] - 1,
            dropout_probability=config.dropout,
        ).to(args.device)
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        loaders = [
            DataLoader(TensorDataset(torch.tensor(a)), batch_size=config.batch_size, shuffle=shuffle)
            for a, shuffle in ((train, True), (test, False), (val, False))
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            ev.train_and_evaluate_cls(model, loaders[0], loaders[1], optimiser, args)
            model = ev.load_classifier(model, args)
            with torch.no_grad():
                _, auc, jsd = ev.evaluate_cls(model, loaders[2], args, final_eval=True, calibration_data=loaders[1])
    return {"auc": float(auc), "jsd": float(jsd)}


def summary(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None)
    parser.add_argument("--geometry", default="ds1-photons", choices=sorted(ANCHOR_DATASET))
    parser.add_argument("--showers", type=int, default=3000, help="showers per class")
    parser.add_argument("--scales", default="1.02,1.10", help="voxel energy scales of the generated samples")
    parser.add_argument("--config", default="small", choices=sorted(CLASSIFIER_SIZES))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.anchor is None or not (args.anchor / "evaluate.py").exists():
        print("skipped: pass --anchor PATH (the CaloChallenge code/ folder with evaluate.py)")
        return
    ev = import_anchor(args.anchor)
    config = CLASSIFIER_SIZES[args.config]
    seeds = [int(s) for s in args.seeds.split(",")]
    model = detector_model(args.geometry)
    geometry = model.geometry
    threshold = evaluation_threshold(geometry)
    energy, reference = GFlashSimulator(model, seed=101).generate(args.showers)
    independent = GFlashSimulator(model, seed=202).sample(energy)
    reference = reference.astype(np.float64)
    result: dict[str, Any] = {
        "machine": machine(),
        "geometry": args.geometry,
        "showers_per_class": args.showers,
        "config": {"name": args.config, **asdict(config)},
        "seeds": seeds,
        "samples": {},
    }
    ours_ref = {
        "low": low_level_inputs(energy, apply_threshold(reference, threshold)),
        "high": high_level_inputs(geometry, energy, apply_threshold(reference, threshold)),
    }
    theirs_ref = anchor_arrays(ev, args.anchor, args.geometry, energy, reference, 1.0)
    for scale in (float(s) for s in args.scales.split(",")):
        generated = independent.astype(np.float64) * scale
        ours_gen = {
            "low": low_level_inputs(energy, apply_threshold(generated, threshold)),
            "high": high_level_inputs(geometry, energy, apply_threshold(generated, threshold)),
        }
        theirs_gen = anchor_arrays(ev, args.anchor, args.geometry, energy, generated, 0.0)
        sample: dict[str, Any] = {}
        for level in ("low", "high"):
            inputs_diff = max(
                float(np.max(np.abs(theirs_ref[level][:, :-1] - ours_ref[level]))),
                float(np.max(np.abs(theirs_gen[level][:, :-1] - ours_gen[level]))),
            )
            runs: dict[str, list[dict[str, float]]] = {"anchor": [], "hepbench": []}
            seconds = {"anchor": 0.0, "hepbench": 0.0}
            for seed in seeds:
                start = time.perf_counter()
                runs["anchor"].append(
                    anchor_classifier(ev, theirs_gen[level], theirs_ref[level], config, seed, args.geometry)
                )
                seconds["anchor"] += time.perf_counter() - start
                start = time.perf_counter()
                ours = classifier_test(ours_ref[level], ours_gen[level], config=config, seed=seed, device="cpu")
                runs["hepbench"].append({"auc": ours["auc"], "jsd": ours["jsd"]})
                seconds["hepbench"] += time.perf_counter() - start
            stats = {who: {k: summary([r[k] for r in rows]) for k in ("auc", "jsd")} for who, rows in runs.items()}
            pulls = {
                k: abs(stats["anchor"][k]["mean"] - stats["hepbench"][k]["mean"])
                / max(np.hypot(stats["anchor"][k]["std"], stats["hepbench"][k]["std"]), 1e-12)
                for k in ("auc", "jsd")
            }
            sample[level] = {
                "largest_input_difference": inputs_diff,
                "runs": runs,
                "summary": stats,
                "difference_in_spreads": pulls,
                "seconds_per_training": {k: v / len(seeds) for k, v in seconds.items()},
            }
            a, h = stats["anchor"], stats["hepbench"]
            print(
                f"scale {scale:.2f} {level:4s}: inputs differ by at most {inputs_diff:.1e}; "
                f"AUC anchor {a['auc']['mean']:.4f} ± {a['auc']['std']:.4f}, hepbench {h['auc']['mean']:.4f} ± "
                f"{h['auc']['std']:.4f} ({pulls['auc']:.2f} combined spreads); JSD anchor {a['jsd']['mean']:.4f} ± "
                f"{a['jsd']['std']:.4f}, hepbench {h['jsd']['mean']:.4f} ± {h['jsd']['std']:.4f} "
                f"({pulls['jsd']:.2f}); s / training {seconds['anchor'] / len(seeds):.1f} / "
                f"{seconds['hepbench'] / len(seeds):.1f}",
                flush=True,
            )
        result["samples"][f"{scale:g}"] = sample
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
