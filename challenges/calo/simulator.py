"""GFlash-style simulation of electromagnetic showers in the CaloChallenge geometries.

Grindhammer-Peters parameterisation (NIM A290 (1990) 469; hep-ex/0001020), formulas as in the
hepbench spec: per shower a correlated draw of (ln T, ln alpha) gives a gamma longitudinal profile
in radiation lengths; energy spots are placed at depths drawn from that profile and at radii drawn
from a core + tail radial profile in Moliere radii whose parameters depend on tau = t / T; the
number of spots N = 93 ln Z E^0.876 (E in GeV) sets the sampling fluctuations. Spots are then
binned into the voxels (layer -> alpha -> r) of the geometry.

To bound the cost at high energy at most ``max_spots`` spots per shower are placed; each spot's
visible energy fluctuates with a gamma distribution whose shape is chosen such that the total
visible energy has the relative variance a^2 / E of the sampling term a, whatever the number of
spots placed (with N spots of energy E/N and gamma shape k: Var/E^2 = 1 / (N k)).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .geometry import Geometry, builtin_geometry

DS1_ENERGIES_MEV = 2.0 ** np.arange(8, 23)
"""The 15 discrete incident energies of data set 1, 256 MeV .. 4.2 TeV."""


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
LAR_PB = Material(
    "LAr/Pb (effective)",
    z=82.0,
    x0_mm=25.0,
    moliere_mm=40.0,
    critical_energy_mev=9.0,
    sampling_fraction=0.2,
    sampling_term=0.10,
)
# Data sets 2 and 3 (Si/W sampling calorimeter, 45 layers).
SI_W = Material(
    "Si/W (effective)",
    z=74.0,
    x0_mm=5.0,
    moliere_mm=12.0,
    critical_energy_mev=8.0,
    sampling_fraction=0.033,
    sampling_term=0.17,
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
    changes the visible fraction (response and sampling fluctuations); ``x0_scale`` stretches the
    radiation length and the Moliere radius (showers peak in deeper layers, spread wider); ``z_shift`` changes the effective Z
    (longitudinal shape, radial profile and spot count).
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
    )
    # The layers keep their thickness in mm: a longer X0 makes each layer fewer radiation lengths.
    depths = tuple((a / x0_scale, b / x0_scale) for a, b in model.layer_depth_edges_x0)
    return replace(model, material=material, layer_depth_edges_x0=depths, calibration=model.calibration * energy_scale)


class GFlashSimulator:
    """Simulate showers of a ``DetectorModel`` (sklearn-like: parameters here, ``sample`` draws).

    ``sample(incident_energy)`` takes (N,) MeV and returns (N, n_voxels) stored energies in MeV.
    """

    def __init__(
        self,
        model: DetectorModel | str = "ds1-photons",
        *,
        max_spots: int = 4000,
        seed: int = 0,
        showers_per_batch: int | None = None,
    ) -> None:
        self.model = detector_model(model) if isinstance(model, str) else model
        self.max_spots = max_spots
        self.seed = seed
        self.showers_per_batch = showers_per_batch
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

    # --- incident energies -------------------------------------------------------------------
    def sample_energies(self, n: int) -> np.ndarray:
        """(n,) incident energies in MeV: the DS1 values uniformly, else log-uniform in the range."""
        if self.model.energy_range_mev is None:
            return self._rng.choice(DS1_ENERGIES_MEV, size=n)
        lo, hi = self.model.energy_range_mev
        return np.exp(self._rng.uniform(np.log(lo), np.log(hi), size=n))

    # --- GFlash parameters --------------------------------------------------------------------
    def longitudinal_parameters(self, energy_mev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per shower (T, alpha): depth of maximum in X0 and gamma shape, with correlated fluctuations."""
        m = self.model.material
        ln_y = np.log(np.asarray(energy_mev, dtype=float) / m.critical_energy_mev)
        mean_ln_t = np.log(np.maximum(ln_y - 0.812, 0.1))
        mean_ln_a = np.log(0.81 + (0.458 + 2.26 / m.z) * ln_y)
        sigma_t = 1.0 / np.maximum(-1.4 + 1.26 * ln_y, 1.0)
        sigma_a = 1.0 / np.maximum(-0.58 + 0.86 * ln_y, 1.0)
        rho = np.clip(0.705 - 0.023 * ln_y, -1.0, 1.0)
        z1, z2 = self._rng.standard_normal((2, len(ln_y)))
        ln_t = mean_ln_t + sigma_t * z1
        ln_a = mean_ln_a + sigma_a * (rho * z1 + np.sqrt(1 - rho**2) * z2)
        return np.exp(ln_t), np.maximum(np.exp(ln_a), 1.05)

    def n_spots(self, energy_mev: np.ndarray) -> np.ndarray:
        """GFlash spot count N = 93 ln Z E^0.876 (E in GeV)."""
        return 93.0 * np.log(self.model.material.z) * (np.asarray(energy_mev) / 1e3) ** 0.876

    def sample_spots(self, energy_mev: np.ndarray) -> dict[str, np.ndarray]:
        """Energy spots of each shower: ``shower`` index, depth ``t`` (X0), radius ``r`` (Moliere
        radii), azimuth ``phi`` (rad) and visible energy ``e`` (MeV), all flat arrays."""
        m = self.model.material
        energy = np.asarray(energy_mev, dtype=float)
        t_max, alpha = self.longitudinal_parameters(energy)
        beta = (alpha - 1.0) / t_max
        n_true = self.n_spots(energy)
        n_placed = np.clip(np.minimum(np.round(n_true), self.max_spots), 1, None).astype(np.int64)
        shower = np.repeat(np.arange(len(energy)), n_placed)
        t = self._rng.gamma(alpha[shower]) / beta[shower]
        tau = t / t_max[shower]
        e_gev = energy[shower] / 1e3
        ln_e = np.log(e_gev)
        r_core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * m.z) * tau
        k1, k2, k3, k4 = 0.659 - 0.00309 * m.z, 0.645, -2.59, 0.3585 + 0.0412 * ln_e
        r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
        p1, p2, p3 = 2.632 - 0.00094 * m.z, 0.401 + 0.00187 * m.z, 1.313 - 0.0686 * ln_e
        x = (p2 - tau) / p3
        p_core = np.clip(p1 * np.exp(x - np.exp(x)), 0.0, 1.0)
        radius = np.where(self._rng.random(len(t)) < p_core, r_core, r_tail)
        u = self._rng.random(len(t))
        r = radius * np.sqrt(u / (1.0 - u))  # inverse CDF of 2 r R^2 / (r^2 + R^2)^2
        phi = self._rng.uniform(-np.pi, np.pi, len(t))
        # Gamma shape k per spot so that Var(E_vis) / E_vis^2 = a^2 / E whatever the number placed.
        shape = e_gev / (n_placed[shower] * m.sampling_term**2)
        e = energy[shower] / n_placed[shower] * m.sampling_fraction * self._rng.gamma(shape) / shape
        return {"shower": shower, "t": t, "r": r, "phi": phi, "e": e, "n_true": n_true}

    # --- voxelisation -------------------------------------------------------------------------
    def _voxelise(self, spots: dict[str, np.ndarray], n_showers: int) -> np.ndarray:
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

    def sample(self, incident_energy: np.ndarray) -> np.ndarray:
        """(N, n_voxels) stored voxel energies in MeV for the (N,) incident energies in MeV."""
        energy = np.asarray(incident_energy, dtype=float).reshape(-1)
        if np.any(~np.isfinite(energy)) or np.any(energy <= 0):
            raise ValueError("incident_energy must be finite and positive (MeV)")
        batch = self.showers_per_batch or max(1, 4_000_000 // self.max_spots, 1)
        batch = min(batch, max(1, 20_000_000 // self.model.geometry.n_voxels))
        out = np.empty((len(energy), self.model.geometry.n_voxels), dtype=np.float32)
        for start in range(0, len(energy), batch):
            chunk = energy[start : start + batch]
            out[start : start + len(chunk)] = self._voxelise(self.sample_spots(chunk), len(chunk))
        return out

    def generate(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` showers at energies drawn as in the data set: ((n,) MeV, (n, n_voxels) MeV)."""
        energy = self.sample_energies(n)
        return energy, self.sample(energy)
