"""Physics checks of the GFlash simulator: shower maximum vs energy, lateral containment,
resolution, occupancy.

Expectations for electromagnetic showers: the depth of the shower maximum grows as ln(E / Ec)
(slope ~1 X0 per e-fold), about 90 % of the energy lies within one Moliere radius, and the energy
resolution follows sigma / E = a / sqrt(E) (+ a small constant term) with a the sampling term;
the number of non-zero voxels grows with energy (GFlash spot count ~ E^0.959).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .simulator import DetectorModel, GFlashSimulator, detector_model

CHECK_ENERGIES_MEV = (2.0 ** np.arange(10, 21, 2)).tolist()
"""1 GeV .. 1 TeV in factors of 4."""


def longitudinal_profile(
    simulator: GFlashSimulator, energy_mev: float, n_showers: int, bin_x0: float = 0.25, depth_x0: float = 40.0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean energy fraction per ``bin_x0`` depth bin (bin centres in X0, fractions), from the spots."""
    spots = simulator.sample_spots(np.full(n_showers, energy_mev))
    edges = np.arange(0.0, depth_x0 + bin_x0, bin_x0)
    hist = np.histogram(spots["t"], edges, weights=spots["e"])[0]
    return 0.5 * (edges[1:] + edges[:-1]), hist / hist.sum()


def peak_depth(centres: np.ndarray, profile: np.ndarray) -> float:
    """Depth of the maximum of a binned profile, refined by a parabola through the top 3 bins."""
    i = int(np.clip(np.argmax(profile), 1, len(profile) - 2))
    y0, y1, y2 = profile[i - 1 : i + 2]
    denom = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
    return float(centres[i] + shift * (centres[1] - centres[0]))


def shower_maximum(
    model: DetectorModel, energies_mev=CHECK_ENERGIES_MEV, n_showers: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Peak depth of the mean profile per energy and the fitted slope d t_max / d ln(E / Ec)."""
    simulator = GFlashSimulator(model, seed=seed)
    peaks, profiles = [], {}
    for energy in energies_mev:
        centres, profile = longitudinal_profile(simulator, energy, n_showers)
        peaks.append(peak_depth(centres, profile))
        profiles[energy] = (centres, profile)
    ln_y = np.log(np.asarray(energies_mev) / model.material.critical_energy_mev)
    slope, intercept = np.polyfit(ln_y, peaks, 1)
    return {
        "energies_mev": list(energies_mev),
        "t_max_x0": peaks,
        "slope_x0_per_ln_y": float(slope),
        "intercept_x0": float(intercept),
        "profiles": profiles,
    }


def lateral_containment(
    model: DetectorModel, energies_mev=CHECK_ENERGIES_MEV, n_showers: int = 100, seed: int = 0
) -> dict[str, Any]:
    """Fraction of the shower energy within 1 and 2 Moliere radii of the axis, per energy."""
    simulator = GFlashSimulator(model, seed=seed)
    within_1, within_2 = [], []
    for energy in energies_mev:
        spots = simulator.sample_spots(np.full(n_showers, energy))
        total = spots["e"].sum()
        within_1.append(float(spots["e"][spots["r"] < 1.0].sum() / total))
        within_2.append(float(spots["e"][spots["r"] < 2.0].sum() / total))
    return {"energies_mev": list(energies_mev), "within_1_rm": within_1, "within_2_rm": within_2}


def energy_resolution(
    model: DetectorModel, energies_mev=CHECK_ENERGIES_MEV, n_showers: int = 300, seed: int = 0
) -> dict[str, Any]:
    """sigma / mean of the summed voxel energy per incident energy, and the fit
    sigma / E = a / sqrt(E / GeV) (+) b (added in quadrature)."""
    simulator = GFlashSimulator(model, seed=seed)
    means, rel = [], []
    for energy in energies_mev:
        total = simulator.sample(np.full(n_showers, energy)).sum(axis=1)
        means.append(float(total.mean() / energy))
        rel.append(float(total.std(ddof=1) / total.mean()))
    e_gev = np.asarray(energies_mev) / 1e3
    # Linear least squares in (sigma/E)^2 = a^2 / E + b^2.
    design = np.column_stack([1.0 / e_gev, np.ones_like(e_gev)])
    (a2, b2), *_ = np.linalg.lstsq(design, np.asarray(rel) ** 2, rcond=None)
    a_only = float(np.sqrt(np.mean(np.asarray(rel) ** 2 * e_gev)))
    return {
        "energies_mev": list(energies_mev),
        "response": means,
        "sigma_over_e": rel,
        "a_sqrt_gev": float(np.sqrt(max(a2, 0.0))),
        "b_constant": float(np.sqrt(max(b2, 0.0))),
        "a_only_sqrt_gev": a_only,
        "a_input_sqrt_gev": model.material.sampling_term,
    }


def occupancy(
    model: DetectorModel, energies_mev=(1e3, 1e4, 1e5, 1e6), n_showers: int = 100, seed: int = 0
) -> dict[str, Any]:
    """Mean and std of the number of non-zero voxels per shower, and the mean energy fraction
    per layer (stored energy / incident energy), per incident energy."""
    simulator = GFlashSimulator(model, seed=seed)
    slices = list(model.geometry.layer_slices().values())
    mean, std, layers = [], [], []
    for energy in energies_mev:
        showers = simulator.sample(np.full(n_showers, energy))
        hits = (showers > 0).sum(axis=1)
        mean.append(float(hits.mean()))
        std.append(float(hits.std()))
        layers.append([float(showers[:, sl].sum(axis=1).mean() / energy) for sl in slices])
    return {"energies_mev": list(energies_mev), "nonzero_mean": mean, "nonzero_std": std, "layer_fraction": layers}


def physics_report(
    geometry: str = "ds2", out: str | Path | None = None, seed: int = 0, n_showers: int = 200
) -> dict[str, Any]:
    """All three checks for one geometry; with ``out``, PNG plots there. Returns the numbers."""
    model = detector_model(geometry)
    maximum = shower_maximum(model, n_showers=n_showers, seed=seed)
    containment = lateral_containment(model, n_showers=max(20, n_showers // 2), seed=seed + 1)
    resolution = energy_resolution(model, n_showers=n_showers, seed=seed + 2)
    hits = occupancy(model, n_showers=max(20, n_showers // 2), seed=seed + 3)
    if out is not None:
        _plots(model, maximum, containment, resolution, Path(out))
    profiles = maximum.pop("profiles")
    del profiles
    return {
        "geometry": model.geometry.name,
        "material": model.material.name,
        "shower_maximum": maximum,
        "containment": containment,
        "resolution": resolution,
        "occupancy": hits,
    }


def _plots(model: DetectorModel, maximum: dict, containment: dict, resolution: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    tag = model.geometry.name
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for energy, (centres, profile) in maximum["profiles"].items():
        ax1.plot(centres, profile, label=f"{energy / 1e3:g} GeV")
    ax1.set(xlabel="depth t [X0]", ylabel="energy fraction per 0.25 X0", title="mean longitudinal profile")
    ax1.legend(fontsize=8)
    ln_y = np.log(np.asarray(maximum["energies_mev"]) / model.material.critical_energy_mev)
    ax2.plot(ln_y, maximum["t_max_x0"], "o", label="simulated")
    ax2.plot(
        ln_y,
        maximum["intercept_x0"] + maximum["slope_x0_per_ln_y"] * ln_y,
        label=f"fit: slope {maximum['slope_x0_per_ln_y']:.2f}",
    )
    ax2.set(xlabel="ln(E / Ec)", ylabel="t_max [X0]", title="shower maximum")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / f"{tag}_shower_maximum.png", dpi=100)
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    e_gev = np.asarray(containment["energies_mev"]) / 1e3
    ax1.semilogx(e_gev, containment["within_1_rm"], "o-", label="r < 1 Rm")
    ax1.semilogx(e_gev, containment["within_2_rm"], "s-", label="r < 2 Rm")
    ax1.axhline(0.9, color="grey", ls=":")
    ax1.set(xlabel="E [GeV]", ylabel="energy fraction", title="lateral containment", ylim=(0.8, 1.0))
    ax1.legend()
    e_gev = np.asarray(resolution["energies_mev"]) / 1e3
    grid = np.geomspace(e_gev.min(), e_gev.max(), 100)
    ax2.loglog(e_gev, resolution["sigma_over_e"], "o", label="simulated")
    ax2.loglog(
        grid,
        np.hypot(resolution["a_sqrt_gev"] / np.sqrt(grid), resolution["b_constant"]),
        label=f"{resolution['a_sqrt_gev']:.3f}/sqrt(E) + {resolution['b_constant']:.3f}",
    )
    ax2.set(xlabel="E [GeV]", ylabel="sigma / E", title="energy resolution")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / f"{tag}_containment_resolution.png", dpi=100)
    plt.close(fig)
