"""Calorimeter high-level features and separation power, side by side with the CaloChallenge code.

Usage: python benchmarks/bench_anchor_calo_features.py --anchor PATH --xml BINNING.xml
       [--geometry ds1-photons] [--showers 10000] [--repeats 3] [--json out.json]

PATH is the ``code`` folder of a checkout of the public CaloChallenge homepage repository
(``HighLevelFeatures.py``, ``XMLHandler.py``, ``evaluate_plotting_helper.py``); BINNING.xml the
official binning file of the geometry. Without them the script says so and exits 0. Both
implementations run on the same GFlash showers (evaluation threshold applied); the script
reports the largest relative difference of every feature family and of the separation power,
and both wall times (median of repeats).

Naming: the anchor's eta / phi are hepbench's x / y (r cos alpha, r sin alpha); the anchor's
sparsity is the fraction of voxels *without* energy, hepbench's the fraction with energy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from timing import machine, median_seconds

from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model
from hepbench.scoring.calo import apply_threshold, evaluation_threshold, high_level_features, separation_power

PARTICLE = {"ds1-photons": "photon", "ds1-pions": "pion", "ds2": "electron", "ds3": "electron"}


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale > 0, scale, 1.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None)
    parser.add_argument("--xml", type=Path, default=None)
    parser.add_argument("--geometry", default="ds1-photons")
    parser.add_argument("--showers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.anchor is None or not (args.anchor / "HighLevelFeatures.py").exists() or args.xml is None:
        print(
            "skipped: pass --anchor PATH (CaloChallenge code/ folder with HighLevelFeatures.py) and --xml BINNING.xml"
        )
        return
    sys.path.insert(0, str(args.anchor))
    import matplotlib

    matplotlib.use("Agg")
    from evaluate_plotting_helper import _separation_power
    from HighLevelFeatures import HighLevelFeatures

    model = detector_model(args.geometry)
    geometry = model.geometry
    energy, showers = GFlashSimulator(model, seed=3).generate(args.showers)
    showers = apply_threshold(showers, evaluation_threshold(geometry))
    _, other = GFlashSimulator(model, seed=4).generate(args.showers)
    other = apply_threshold(other, evaluation_threshold(geometry))

    anchor = HighLevelFeatures(PARTICLE[args.geometry], filename=str(args.xml))
    anchor.CalculateFeatures(showers)
    ours = high_level_features(geometry, energy, showers)
    layers = list(geometry.layer_slices())
    alpha_layers = [layer.id for layer in geometry.active_layers if layer.n_alpha > 1]
    families = {
        "energy per layer": [(anchor.E_layers[L], ours[f"e_{L}"]) for L in layers],
        "centre in r": [(anchor.EC_r[L], ours[f"ec_r_{L}"]) for L in layers],
        "width in r": [(anchor.width_r[L], ours[f"width_r_{L}"]) for L in layers],
        "centre in eta (x)": [(anchor.EC_etas[L], ours[f"ec_x_{L}"]) for L in alpha_layers],
        "centre in phi (y)": [(anchor.EC_phis[L], ours[f"ec_y_{L}"]) for L in alpha_layers],
        "width in eta (x)": [(anchor.width_etas[L], ours[f"width_x_{L}"]) for L in alpha_layers],
        "width in phi (y)": [(anchor.width_phis[L], ours[f"width_y_{L}"]) for L in alpha_layers],
        "sparsity": [(1.0 - anchor.sparsity[L], ours[f"sparsity_{L}"]) for L in layers],
        "E_tot / E_inc": [(anchor.E_tot / energy, ours["etot_einc"])],
    }
    differences = {}
    for family, pairs in families.items():
        # Centres are signed and scatter around 0: compare against the feature's spread.
        scale = max(float(np.std(a)) for a, _ in pairs) or 1.0
        if family.startswith("centre"):
            differences[family] = max(float(np.max(np.abs(a - b))) for a, b in pairs) / scale
        else:
            differences[family] = max(relative_difference(a, b) for a, b in pairs)
        print(f"{family:20s} largest difference {differences[family]:.1e}")

    # Separation power of the total energy ratio on the same bins: the anchor takes density
    # histograms and multiplies by the bin widths, hepbench normalises counts.
    r1, r2 = showers.sum(axis=1) / energy, other.sum(axis=1) / energy
    bins = np.linspace(min(r1.min(), r2.min()), max(r1.max(), r2.max()), 51)
    theirs = _separation_power(np.histogram(r1, bins, density=True)[0], np.histogram(r2, bins, density=True)[0], bins)
    mine = separation_power(np.histogram(r1, bins)[0], np.histogram(r2, bins)[0])
    differences["separation power"] = abs(theirs - mine)
    print(f"separation power     anchor {theirs:.15g}  hepbench {mine:.15g}  |diff| {abs(theirs - mine):.1e}")

    anchor_seconds = median_seconds(lambda: anchor.CalculateFeatures(showers), args.repeats)
    ours_seconds = median_seconds(lambda: high_level_features(geometry, energy, showers), args.repeats)
    print(
        f"{args.showers:,} {args.geometry} showers: anchor {anchor_seconds * 1e3:.1f} ms, hepbench "
        f"{ours_seconds * 1e3:.1f} ms ({anchor_seconds / ours_seconds:.2f}x)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "geometry": args.geometry,
                    "n_showers": args.showers,
                    "differences": differences,
                    "separation_power": {"anchor": theirs, "hepbench": mine},
                    "anchor_seconds": anchor_seconds,
                    "hepbench_seconds": ours_seconds,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
