"""GFlash-style simulation of electromagnetic showers in the CaloChallenge geometries.

Grindhammer-Peters parameterisation (NIM A290 (1990) 469; hep-ex/0001020), sampling-calorimeter
form. Per shower, two correlated normals give (ln T, ln alpha) of the gamma longitudinal energy
profile, with energy-dependent means, sigmas and correlation; the means carry the sampling
corrections T_sam = T_hom + t1 / F_S + t2 (1 - e_hat), alpha_sam = alpha_hom + a1 / F_S (F_S:
sampling frequency, e_hat: e/mip ratio). The energy is carried by N = 10.3 / c E^0.959 spots
(E in GeV, c the stochastic term, so fewer visible particles -> fewer spots), distributed in depth
by their own gamma profile (T_spot = T (0.813 + 0.0019 Z), alpha_spot = alpha (0.844 + 0.0026 Z)),
so the energy carried per spot changes with depth. Spot radii follow a core + tail profile in
Moliere radii whose radii and core fraction depend on tau, the depth in units of the shower's own
centre of gravity (so they vary with depth and fluctuate with each shower's (T, alpha)), with the
sampling corrections in (1 - e_hat) and 1 / F_S. Each spot's visible energy fluctuates as a gamma
variate of variance c^2 E_spot (GeV^2), so any group of spots carries the sampling term c.

``sample`` draws the voxels without placing spots one by one: per layer it integrates the energy
and spot profiles over sub-slices of at most ``depth_step_x0``, draws the number of spots of each
voxel (Poisson, mean from the radial profile), shares the layer's energy among its spots (and
those falling outside the outermost radial bin), and applies the sampling fluctuation per voxel.
The cost does not grow with the number of spots, which grows with energy, so every shower gets
its full GFlash spot count (no cap) and the occupancy grows with energy.
``sample_spots`` places the spots themselves (at most ``max_spots`` per shower, heavier when
thinned), for the fine-grained physics checks of ``physics.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gammainc, gammaln

from .geometry import Geometry, builtin_geometry

SIMULATOR_VERSION = "2.0"
"""Version of the shower model, written into every generated file's metadata. 2.0: GFlash
sampling-calorimeter fluctuations, separate spot profile, full spot count (1.x: homogeneous
parameters, at most 4000 spots per shower)."""

DS1_ENERGIES_MEV = 2.0 ** np.arange(8, 23)
"""The 15 discrete incident energies of data set 1, 256 MeV .. 4.2 TeV."""

# GFlash sampling-calorimeter parameters (hep-ex/0001020, as tuned in GFlash for sampling media).
_T_SAMPLING = (-0.55, -0.69)  # T_sam = T_hom + t1 / F_S + t2 (1 - e_hat)
_A_SAMPLING = -0.476  # alpha_sam = alpha_hom + a1 / F_S
_SIGMA_LN_T = (-2.5, 1.25)  # sigma(ln T) = 1 / (s1 + s2 ln y)
_SIGMA_LN_A = (-0.82, 0.79)  # sigma(ln alpha) = 1 / (s1 + s2 ln y)
_RHO = (0.784, -0.023)  # correlation(ln T, ln alpha) = r1 + r2 ln y
_SPOT_T = (0.813, 0.0019)  # T_spot = T (t1 + t2 Z)
_SPOT_A = (0.844, 0.0026)  # alpha_spot = alpha (a1 + a2 Z)
_SPOT_N = (10.3, 0.959)  # N_spot = n1 / c E^n2, E in GeV
_MAX_SIGMA = 0.5  # the fluctuation widths are capped at low energy, as in GFlash


@dataclass(frozen=True)
class Material:
    """Effective (homogenised) sampling calorimeter."""

    name: str
    z: float
    """Effective atomic number."""
    x0_mm: float
    """Radiation length in mm."""
    moliere_mm: float
    """Moliere radius in mm."""
    critical_energy_mev: float
    sampling_fraction: float
    """Visible fraction of the deposited energy."""
    sampling_term: float
    """Stochastic resolution term a in sigma/E = a / sqrt(E / GeV)."""
    sampling_frequency: float
    """F_S = X0 / (d_active + d_passive): sampling cells per radiation length."""
    e_hat: float
    """e/mip ratio 1 / (1 + 0.007 (Z_passive - Z_active))."""


@dataclass(frozen=True)
class DetectorModel:
    """A geometry with its material, the depth of each active layer, and the readout."""

    geometry: Geometry
    material: Material
    layer_depth_edges_x0: tuple[tuple[float, float], ...]
    """(front, back) depth in radiation lengths of each active layer, in file order."""
    calibration: float
    """Stored energy = visible energy * calibration (1 / nominal sampling fraction)."""
    readout_threshold_mev: float
    """Voxels whose stored energy is below this are read out as 0."""
    energy_range_mev: tuple[float, float] | None
    """Log-uniform incident energy range, or None for the 15 discrete DS1 energies."""


# Data set 1 (ATLAS-like LAr/lead barrel): presampler, three accordion layers, first tile layer.
# About 6 mm per lead + argon cell (F_S = 25 / 6); e_hat for Pb (82) against Ar (18).
LAR_PB = Material(
    "LAr/Pb (effective)",
    z=82.0,
    x0_mm=25.0,
    moliere_mm=40.0,
    critical_energy_mev=9.0,
    sampling_fraction=0.2,
    sampling_term=0.10,
    sampling_frequency=25.0 / 6.0,
    e_hat=1.0 / (1.0 + 0.007 * (82 - 18)),
)
# Data sets 2 and 3 (Si/W sampling calorimeter, 45 readout layers of two W + Si cells each).
SI_W = Material(
    "Si/W (effective)",
    z=74.0,
    x0_mm=5.0,
    moliere_mm=12.0,
    critical_energy_mev=8.0,
    sampling_fraction=0.033,
    sampling_term=0.17,
    sampling_frequency=2.0 / 0.6,
    e_hat=1.0 / (1.0 + 0.007 * (74 - 14)),
)

_DS1_DEPTHS = ((0.0, 2.0), (2.0, 6.5), (6.5, 22.5), (22.5, 25.0), (25.0, 45.0))
_DS23_LAYER_X0 = 0.6


def detector_model(name: str) -> DetectorModel:
    """Nominal detector for ``ds1-photons``, ``ds2`` or ``ds3`` (official names accepted)."""
    geometry = builtin_geometry(name)
    if geometry.name == "dataset_1_photons":
        return DetectorModel(geometry, LAR_PB, _DS1_DEPTHS, 1.0 / LAR_PB.sampling_fraction, 0.1, None)
    if geometry.name in ("dataset_2", "dataset_3"):
        n = len(geometry.active_layers)
        depths = tuple((i * _DS23_LAYER_X0, (i + 1) * _DS23_LAYER_X0) for i in range(n))
        # 0.5 keV visible threshold of the silicon, in stored units.
        return DetectorModel(
            geometry, SI_W, depths, 1.0 / SI_W.sampling_fraction, 0.5e-3 / SI_W.sampling_fraction, (1e3, 1e6)
        )
    raise ValueError(f"no electromagnetic detector model for {geometry.name!r} (pions need a hadronic model)")


def vary(
    model: DetectorModel,
    *,
    energy_scale: float = 1.0,
    sampling_fraction_scale: float = 1.0,
    x0_scale: float = 1.0,
    z_shift: float = 0.0,
) -> DetectorModel:
    """A systematic variation: the true detector differs from the nominal one, the calibration stays.

    ``energy_scale`` multiplies the stored energies (miscalibration); ``sampling_fraction_scale``
    changes the visible fraction (response, sampling fluctuations and spot count);
    ``x0_scale`` stretches the radiation length and the Moliere radius (showers peak in deeper
    layers, spread wider; the cells are fewer X0 thick); ``z_shift`` changes the effective Z
    (longitudinal shape, radial profile and spot profile).
    """
    m = model.material
    # A longer X0 at fixed Z (a less dense absorber) widens the shower too: Rm = 21.2 MeV X0 / Ec.
    material = replace(
        m,
        z=m.z + z_shift,
        x0_mm=m.x0_mm * x0_scale,
        moliere_mm=m.moliere_mm * x0_scale,
        sampling_fraction=m.sampling_fraction * sampling_fraction_scale,
        sampling_term=m.sampling_term / np.sqrt(sampling_fraction_scale),
        sampling_frequency=m.sampling_frequency * x0_scale,
    )
    # The layers keep their thickness in mm: a longer X0 makes each layer fewer radiation lengths.
    depths = tuple((a / x0_scale, b / x0_scale) for a, b in model.layer_depth_edges_x0)
    return replace(model, material=material, layer_depth_edges_x0=depths, calibration=model.calibration * energy_scale)


@dataclass(frozen=True)
class ShowerShapes:
    """GFlash parameters of a batch of showers, each (N,): energy profile (``t_max`` X0,
    ``alpha``), spot profile (``t_spot``, ``alpha_spot``), ``tau_scale`` (tau = t * tau_scale)
    and the spot count ``n_spots``."""

    energy_mev: np.ndarray
    t_max: np.ndarray
    alpha: np.ndarray
    t_spot: np.ndarray
    alpha_spot: np.ndarray
    tau_scale: np.ndarray
    n_spots: np.ndarray

    @property
    def beta(self) -> np.ndarray:
        return (self.alpha - 1.0) / self.t_max

    @property
    def beta_spot(self) -> np.ndarray:
        return (self.alpha_spot - 1.0) / self.t_spot


def _inverse_width(s1: float, s2: float, ln_y: np.ndarray) -> np.ndarray:
    """sigma = 1 / (s1 + s2 ln y), at most ``_MAX_SIGMA`` (also where the denominator is <= 0)."""
    denominator = s1 + s2 * ln_y
    return np.where(denominator > 1.0 / _MAX_SIGMA, 1.0 / np.maximum(denominator, 1e-12), _MAX_SIGMA)


class GFlashSimulator:
    """Simulate showers of a ``DetectorModel`` (sklearn-like: parameters here, ``sample`` draws).

    ``sample(incident_energy)`` takes (N,) MeV and returns (N, n_voxels) stored energies in MeV.
    ``max_spots`` only bounds ``sample_spots`` (the spot-level path of the physics checks);
    ``depth_step_x0`` is the longest depth sub-slice over which ``sample`` integrates the profiles.
    """

    def __init__(
        self,
        model: DetectorModel | str = "ds1-photons",
        *,
        max_spots: int = 4000,
        seed: int = 0,
        showers_per_batch: int | None = None,
        depth_step_x0: float = 0.5,
    ) -> None:
        self.model = detector_model(model) if isinstance(model, str) else model
        self.max_spots = max_spots
        self.seed = seed
        self.showers_per_batch = showers_per_batch
        self.depth_step_x0 = depth_step_x0
        self._rng = np.random.default_rng(seed)
        g = self.model.geometry
        self._layers = g.active_layers
        self._slices = list(g.layer_slices().values())
        self._depth_edges = np.array(
            [d[0] for d in self.model.layer_depth_edges_x0] + [self.model.layer_depth_edges_x0[-1][1]]
        )
        self._gaps = np.array(
            [
                a != b
                for (_, a), (b, _) in zip(self.model.layer_depth_edges_x0[:-1], self.model.layer_depth_edges_x0[1:])
            ]
        )
        # Sub-slice edges of each layer (X0) and the radial edges in Moliere radii.
        self._sub_edges = [
            np.linspace(a, b, max(1, int(np.ceil((b - a) / depth_step_x0))) + 1)
            for a, b in self.model.layer_depth_edges_x0
        ]
        self._r_edges_rm = [np.asarray(layer.r_edges) / self.model.material.moliere_mm for layer in self._layers]
        # Rings = (layer, radial bin): first voxel (alpha bin 0), voxel stride per alpha bin, alpha bins.
        self._ring_voxel = np.concatenate(
            [sl.start + np.arange(lay.n_radial) for lay, sl in zip(self._layers, self._slices)]
        )
        self._ring_stride = np.concatenate([np.full(lay.n_radial, lay.n_radial) for lay in self._layers])
        self._ring_n_alpha = np.concatenate([np.full(lay.n_radial, lay.n_alpha) for lay in self._layers])

    # --- incident energies -------------------------------------------------------------------
    def sample_energies(self, n: int) -> np.ndarray:
        """(n,) incident energies in MeV: the DS1 values uniformly, else log-uniform in the range."""
        if self.model.energy_range_mev is None:
            return self._rng.choice(DS1_ENERGIES_MEV, size=n)
        lo, hi = self.model.energy_range_mev
        return np.exp(self._rng.uniform(np.log(lo), np.log(hi), size=n))

    # --- GFlash parameters --------------------------------------------------------------------
    def mean_longitudinal_parameters(self, energy_mev: np.ndarray) -> dict[str, np.ndarray]:
        """Means, widths and correlation of (ln T, ln alpha) per energy: ``mean_ln_t``,
        ``mean_ln_alpha``, ``sigma_ln_t``, ``sigma_ln_alpha``, ``rho`` (each like ``energy_mev``)."""
        m = self.model.material
        ln_y = np.log(np.asarray(energy_mev, dtype=float) / m.critical_energy_mev)
        t_hom = np.maximum(ln_y - 0.812, 0.1)
        alpha_hom = 0.81 + (0.458 + 2.26 / m.z) * ln_y
        t_sam = t_hom + _T_SAMPLING[0] / m.sampling_frequency + _T_SAMPLING[1] * (1.0 - m.e_hat)
        alpha_sam = alpha_hom + _A_SAMPLING / m.sampling_frequency
        return {
            "mean_ln_t": np.log(np.maximum(t_sam, 0.5)),
            "mean_ln_alpha": np.log(np.maximum(alpha_sam, 1.1)),
            "sigma_ln_t": _inverse_width(*_SIGMA_LN_T, ln_y),
            "sigma_ln_alpha": _inverse_width(*_SIGMA_LN_A, ln_y),
            "rho": np.clip(_RHO[0] + _RHO[1] * ln_y, -1.0, 1.0),
        }

    def longitudinal_parameters(self, energy_mev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per shower (T, alpha): depth of maximum in X0 and gamma shape, with correlated fluctuations."""
        shapes = self.shower_shapes(energy_mev)
        return shapes.t_max, shapes.alpha

    def shower_shapes(self, energy_mev: np.ndarray) -> ShowerShapes:
        """Draw the GFlash parameters of each shower of the (N,) MeV energies."""
        m = self.model.material
        energy = np.asarray(energy_mev, dtype=float).reshape(-1)
        p = self.mean_longitudinal_parameters(energy)
        z1, z2 = self._rng.standard_normal((2, len(energy)))
        rho = p["rho"]
        t_max = np.maximum(np.exp(p["mean_ln_t"] + p["sigma_ln_t"] * z1), 0.5)
        alpha = np.maximum(
            np.exp(p["mean_ln_alpha"] + p["sigma_ln_alpha"] * (rho * z1 + np.sqrt(1 - rho**2) * z2)), 1.1
        )
        t_spot = np.maximum(t_max * (_SPOT_T[0] + _SPOT_T[1] * m.z), 0.5)
        alpha_spot = np.maximum(alpha * (_SPOT_A[0] + _SPOT_A[1] * m.z), 1.1)
        # tau = t / <t> of this shower, in units where the average shower has tau = t / T:
        # the lateral parameters then follow each shower's own depth scale.
        mean_alpha = np.exp(p["mean_ln_alpha"])
        tau_scale = (alpha - 1.0) / (alpha * t_max) * mean_alpha / (mean_alpha - 1.0)
        return ShowerShapes(energy, t_max, alpha, t_spot, alpha_spot, tau_scale, self.n_spots(energy))

    def n_spots(self, energy_mev: np.ndarray) -> np.ndarray:
        """GFlash spot count of a sampling calorimeter N = 10.3 / c E^0.959 (E in GeV, c the
        stochastic term, which grows as the sampling fraction falls)."""
        c = self.model.material.sampling_term
        return _SPOT_N[0] / c * (np.asarray(energy_mev, dtype=float) / 1e3) ** _SPOT_N[1]

    def radial_parameters(self, tau: np.ndarray, energy_gev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Core radius, tail radius (Moliere radii) and core probability at depth ``tau`` (t / T),
        arrays broadcast with ``energy_gev``."""
        m = self.model.material
        ln_e = np.log(energy_gev)
        leak, inv_fs = 1.0 - m.e_hat, 1.0 / m.sampling_frequency
        r_core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * m.z) * tau
        r_core = r_core - 0.0203 * leak + 0.0397 * inv_fs * np.exp(-tau)
        k1, k2, k3, k4 = 0.659 - 0.00309 * m.z, 0.645, -2.59, 0.3585 + 0.0412 * ln_e
        r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
        r_tail = r_tail - 0.14 * leak - 0.495 * inv_fs * np.exp(-tau)
        p1, p2, p3 = 2.632 - 0.00094 * m.z, 0.401 + 0.00187 * m.z, 1.313 - 0.0686 * ln_e
        x = (p2 - tau) / p3
        p_core = p1 * np.exp(x - np.exp(x)) + leak * (0.348 - 0.642 * inv_fs * np.exp(-((tau - 1.0) ** 2)))
        return np.maximum(r_core, 1e-3), np.maximum(r_tail, 1e-3), np.clip(p_core, 0.0, 1.0)

    def _visible(self, deposited_mev: np.ndarray) -> np.ndarray:
        """Visible energy (MeV) of deposits: a gamma variate of variance c^2 E (GeV^2) per deposit,
        times the sampling fraction; additive, so any sum of deposits has the sampling term c."""
        m = self.model.material
        scale_gev = m.sampling_term**2
        shape = deposited_mev / 1e3 / scale_gev
        return m.sampling_fraction * 1e3 * scale_gev * self._rng.gamma(np.maximum(shape, 1e-300))

    def sample_spots(self, energy_mev: np.ndarray) -> dict[str, np.ndarray]:
        """Energy spots of each shower: ``shower`` index, depth ``t`` (X0), radius ``r`` (Moliere
        radii), azimuth ``phi`` (rad) and visible energy ``e`` (MeV), all flat arrays; ``n_true``
        (N,) the GFlash spot count. At most ``max_spots`` are placed (each then carrying more energy)."""
        shapes = self.shower_shapes(energy_mev)
        energy = shapes.energy_mev
        n_placed = np.clip(np.minimum(np.round(shapes.n_spots), self.max_spots), 1, None).astype(np.int64)
        shower = np.repeat(np.arange(len(energy)), n_placed)
        alpha_s, beta_s = shapes.alpha_spot[shower], shapes.beta_spot[shower]
        t = self._rng.gamma(alpha_s) / beta_s
        # Each spot carries the energy profile over the spot profile at its depth (GFlash shares a
        # depth step's energy among the spots of that step).
        alpha, beta = shapes.alpha[shower], shapes.beta[shower]
        log_ratio = (alpha * np.log(beta) - gammaln(alpha) + (alpha - 1.0) * np.log(t) - beta * t) - (
            alpha_s * np.log(beta_s) - gammaln(alpha_s) + (alpha_s - 1.0) * np.log(t) - beta_s * t
        )
        deposited = energy[shower] / n_placed[shower] * np.exp(log_ratio)
        tau = t * shapes.tau_scale[shower]
        r_core, r_tail, p_core = self.radial_parameters(tau, energy[shower] / 1e3)
        radius = np.where(self._rng.random(len(t)) < p_core, r_core, r_tail)
        u = self._rng.random(len(t))
        r = radius * np.sqrt(u / (1.0 - u))  # inverse CDF of 2 r R^2 / (r^2 + R^2)^2
        phi = self._rng.uniform(-np.pi, np.pi, len(t))
        e = self._visible(deposited)
        return {"shower": shower, "t": t, "r": r, "phi": phi, "e": e, "n_true": shapes.n_spots}

    # --- voxelisation -------------------------------------------------------------------------
    def voxelise(self, spots: dict[str, np.ndarray], n_showers: int) -> np.ndarray:
        """Bin ``sample_spots`` output into (n_showers, n_voxels) stored energies (MeV), threshold
        applied: the spot-level counterpart of ``sample``, to cross-check it."""
        g, m = self.model.geometry, self.model.material
        layer = np.searchsorted(self._depth_edges, spots["t"], side="right") - 1
        inside = (layer >= 0) & (layer < len(self._layers))
        if self._gaps.any():  # spots in dead material between active layers are lost
            inside &= (
                spots["t"]
                < np.array([b for _, b in self.model.layer_depth_edges_x0])[np.clip(layer, 0, len(self._layers) - 1)]
            )
        voxel = np.full(len(layer), -1, dtype=np.int64)
        r_mm = spots["r"] * m.moliere_mm
        for i, (lay, sl) in enumerate(zip(self._layers, self._slices)):
            here = np.flatnonzero(inside & (layer == i))
            edges = np.asarray(lay.r_edges)
            ir = np.searchsorted(edges, r_mm[here], side="right") - 1
            ia = np.minimum(
                ((spots["phi"][here] + np.pi) / (2 * np.pi) * lay.n_alpha).astype(np.int64), lay.n_alpha - 1
            )
            ok = ir < lay.n_radial
            voxel[here[ok]] = sl.start + ia[ok] * lay.n_radial + ir[ok]
        keep = voxel >= 0
        flat = spots["shower"][keep] * g.n_voxels + voxel[keep]
        out = np.bincount(flat, weights=spots["e"][keep], minlength=n_showers * g.n_voxels)
        out = out.reshape(n_showers, g.n_voxels) * self.model.calibration
        out[out < self.model.readout_threshold_mev] = 0.0
        return out

    def _sample_batch(self, energy: np.ndarray) -> np.ndarray:
        """(B, n_voxels) stored energies of a batch, drawn ring by ring (see the module docstring)."""
        shapes = self.shower_shapes(energy)
        e_gev = (energy / 1e3)[:, None]
        alpha, beta = shapes.alpha[:, None], shapes.beta[:, None]
        alpha_s, beta_s = shapes.alpha_spot[:, None], shapes.beta_spot[:, None]
        ring_spots, ring_energy, beyond_share, in_layers = [], [], np.zeros(len(energy)), np.zeros(len(energy))
        for edges_t, edges_r in zip(self._sub_edges, self._r_edges_rm):
            # Energy and spot fractions of each depth sub-slice (B, S).
            d_energy = np.diff(gammainc(alpha, beta * edges_t[None, :]), axis=1)
            d_spots = np.diff(gammainc(alpha_s, beta_s * edges_t[None, :]), axis=1)
            tau = 0.5 * (edges_t[1:] + edges_t[:-1])[None, :] * shapes.tau_scale[:, None]
            r_core, r_tail, p_core = (x[..., None] for x in self.radial_parameters(tau, e_gev))
            r2 = edges_r**2
            cdf = p_core * r2 / (r2 + r_core**2) + (1.0 - p_core) * r2 / (r2 + r_tail**2)  # (B, S, R+1)
            p_ring = np.concatenate([np.diff(cdf, axis=2), 1.0 - cdf[..., -1:]], axis=2)  # last: beyond
            spots = np.einsum("bs,bsr->br", d_spots, p_ring) * shapes.n_spots[:, None]  # mean spot counts
            share = np.einsum("bs,bsr->br", d_energy, p_ring)  # energy fractions (B, R+1)
            per_spot = np.divide(share, spots, out=np.zeros_like(share), where=spots > 0)
            ring_spots.append(spots[:, :-1])
            ring_energy.append(per_spot[:, :-1])
            beyond_share += self._rng.poisson(spots[:, -1]) * per_spot[:, -1]
            in_layers += d_energy.sum(axis=1)
        mean_spots = np.concatenate(ring_spots, axis=1)  # (B, rings) = (layer, radial bin)
        per_spot = np.concatenate(ring_energy, axis=1)
        shower_idx, voxel_idx, spot_share = self._draw_spots(mean_spots, per_spot)
        # The energy inside the layers is shared among the spots drawn (GFlash deposits each depth
        # step's energy with its spots), so spot-count fluctuations move energy, never create it.
        drawn = np.bincount(shower_idx, weights=spot_share, minlength=len(energy)) + beyond_share
        scale = np.divide(energy * in_layers, drawn, out=np.zeros_like(drawn), where=drawn > 0)
        n_voxels = self.model.geometry.n_voxels
        deposited = np.bincount(
            shower_idx * n_voxels + voxel_idx, weights=spot_share * scale[shower_idx], minlength=len(energy) * n_voxels
        ).reshape(len(energy), n_voxels)
        hit = np.flatnonzero(deposited)  # the few voxels with spots: work on those only
        stored = self._visible(deposited.flat[hit]) * self.model.calibration
        deposited.flat[hit] = np.where(stored < self.model.readout_threshold_mev, 0.0, stored)
        return deposited

    def _draw_spots(self, mean_spots: np.ndarray, per_spot: np.ndarray) -> tuple[np.ndarray, ...]:
        """Spot counts of every voxel from the (B, rings) mean counts, uniform in alpha: returns the
        shower, voxel and energy share (spots x per-spot share) of each (shower, voxel) entry.

        Rings expecting more spots than they have alpha bins draw a Poisson count per voxel; the
        others draw the ring's count and an alpha bin per spot. Both give independent Poisson
        counts per voxel, at a cost bounded by min(spots, voxels)."""
        n_rings = mean_spots.shape[1]
        dense = mean_spots > self._ring_n_alpha
        parts = []
        # Sparse rings: the ring's count, then an alpha bin per spot.
        n = self._rng.poisson(np.where(dense, 0.0, mean_spots)).ravel()
        which = np.repeat(np.arange(n.size), n)
        shower, ring = np.divmod(which, n_rings)
        alpha_bin = (self._rng.random(which.size) * self._ring_n_alpha[ring]).astype(np.int64)
        parts.append((shower, self._ring_voxel[ring] + alpha_bin * self._ring_stride[ring], per_spot[shower, ring]))
        # Dense rings: a Poisson count per voxel, grouped by the number of alpha bins.
        for n_alpha in np.unique(self._ring_n_alpha):
            shower, ring = np.nonzero(dense & (self._ring_n_alpha == n_alpha))
            if shower.size == 0:
                continue
            counts = self._rng.poisson(np.repeat((mean_spots[shower, ring] / n_alpha)[:, None], n_alpha, axis=1))
            voxel = self._ring_voxel[ring][:, None] + np.arange(n_alpha)[None, :] * self._ring_stride[ring][:, None]
            share = counts * per_spot[shower, ring][:, None]
            keep = counts > 0
            parts.append((np.repeat(shower[:, None], n_alpha, axis=1)[keep], voxel[keep], share[keep]))
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))

    def sample(self, incident_energy: np.ndarray) -> np.ndarray:
        """(N, n_voxels) stored voxel energies in MeV for the (N,) incident energies in MeV."""
        energy = self._checked_energy(incident_energy)
        out = np.empty((len(energy), self.model.geometry.n_voxels), dtype=np.float32)
        row = 0
        for block in self._blocks(energy):
            out[row : row + len(block)] = block
            row += len(block)
        return out

    def sample_blocks(self, incident_energy: np.ndarray) -> Iterator[np.ndarray]:
        """The showers of :meth:`sample`, the same values, as consecutive blocks of rows
        (B, n_voxels) float32 MeV: a data set larger than memory (data set 3's 100,000 showers
        are 16 GB) is written block by block as it is simulated."""
        return self._blocks(self._checked_energy(incident_energy))  # checked now, not at first block

    def _blocks(self, energy: np.ndarray) -> Iterator[np.ndarray]:
        batch = self.showers_per_batch or max(1, 2_000_000 // self.model.geometry.n_voxels)
        for start in range(0, len(energy), batch):
            yield self._sample_batch(energy[start : start + batch]).astype(np.float32)

    @staticmethod
    def _checked_energy(incident_energy: np.ndarray) -> np.ndarray:
        energy = np.asarray(incident_energy, dtype=float).reshape(-1)
        if np.any(~np.isfinite(energy)) or np.any(energy <= 0):
            raise ValueError("incident_energy must be finite and positive (MeV)")
        return energy

    def generate(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` showers at energies drawn as in the data set: ((n,) MeV, (n, n_voxels) MeV)."""
        energy = self.sample_energies(n)
        return energy, self.sample(energy)
