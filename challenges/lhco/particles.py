"""Particle-level events for the fast generator: constituents that reproduce each event's jets.

Given the high-level features of generated events (mjj, both jet masses, pT and tau21; TeV),
:func:`event_particles` builds the particles of the two jets so that clustering them with
anti-kT R = 1.0 and recomputing the features (``real_data.jet_features``) gives back the
event's mj, tau21 and mjj (tolerances measured in tests/test_lhco_particles.py and quoted in
docs/lhco.md). Each jet is two prongs of particles:

- the multiplicity is log-normal, rising with the jet mass (as in the real R&D jets);
- the particles' pT fractions are log-normal weights (a few hard particles, many soft ones),
  split at random into two prongs whose pT centroids sit on a line through the jet axis;
- every particle scatters around its prong's axis by a Gaussian of width ``r`` (in units of
  the prong separation). tau21 depends only on ``r`` (N-subjettiness is linear in the angles),
  so ``r`` is solved per jet by bisection with a k-means estimate of tau2's axes, then the
  whole jet is scaled in angle until its mass is the event's and in pT until its pT is.

The jet axes follow from the event: back to back in phi, rapidity difference (or, where the
smeared signal mjj is below what back-to-back jets allow, the azimuthal gap) solved from
mjj, and a common rapidity drawn from a Gaussian. No underlying event and no particles outside
the two jets. Particle pT in GeV, as in the R&D files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import PARTICLE_FIELDS, particle_columns

JET_REACH = 0.95
"""Largest distance (eta, phi) of a particle from its jet's hardest particle: inside anti-kT's R = 1.0."""
CHUNK_JETS = 20_000


@dataclass(frozen=True)
class ParticleModel:
    """Shape of the jets' particles (fitted by eye to the 1,000 real R&D events, docs/lhco.md)."""

    multiplicity_median: float = 50.0
    """Median number of particles of a jet of mass ``multiplicity_mass`` (TeV)."""
    multiplicity_mass: float = 0.15
    multiplicity_slope: float = 0.65
    """d ln n / d ln m."""
    multiplicity_sigma: float = 0.35
    weight_sigma: float = 1.8
    """Spread of the log-normal pT weights: sets the leading particles' pT fractions."""
    prong_share: tuple[float, float] = (0.15, 0.5)
    """Range of the probability that a particle belongs to the second prong."""
    centre_rapidity_sigma: float = 0.6
    """Gaussian spread of the dijet system's rapidity."""


def _tau21_estimate(pos: np.ndarray, x: np.ndarray, prong: np.ndarray, iterations: int = 1) -> np.ndarray:
    """tau2 / tau1 of jets (rows): ``pos`` (J, N, 2) angular offsets, ``x`` (J, N) pT fractions
    (zero for empty slots, rows sum to 1), ``prong`` (J, N) bool; tau2's axes start at the prong
    centroids and take ``iterations`` pT-weighted k-means steps, as exclusive-kT axes would settle."""
    centre = (x[..., None] * pos).sum(axis=1, keepdims=True)
    tau1 = (x * np.linalg.norm(pos - centre, axis=-1)).sum(axis=1)
    member = prong
    for _ in range(iterations + 1):
        w1 = x * member
        w0 = x * ~member
        a0 = (w0[..., None] * pos).sum(axis=1, keepdims=True) / np.maximum(w0.sum(axis=1), 1e-12)[:, None, None]
        a1 = (w1[..., None] * pos).sum(axis=1, keepdims=True) / np.maximum(w1.sum(axis=1), 1e-12)[:, None, None]
        d0 = np.linalg.norm(pos - a0, axis=-1)
        d1 = np.linalg.norm(pos - a1, axis=-1)
        member = d1 < d0
    tau2 = (x * np.minimum(d0, d1)).sum(axis=1)
    return tau2 / np.maximum(tau1, 1e-12)


def _jets(
    pt: np.ndarray, mass: np.ndarray, tau21: np.ndarray, n_max: int, rng: np.random.Generator, model: ParticleModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Particles of jets at the origin: (pT fraction, d eta, d phi), each (J, n_max); pT and mass in GeV."""
    n_jets = len(pt)
    log_n = np.log(model.multiplicity_median) + model.multiplicity_slope * np.log(
        np.maximum(mass / 1000.0, 1e-3) / model.multiplicity_mass
    )
    n = np.clip(np.rint(np.exp(log_n + model.multiplicity_sigma * rng.standard_normal(n_jets))), 3, n_max)
    valid = np.arange(n_max)[None, :] < n[:, None]
    weights = np.exp(model.weight_sigma * rng.standard_normal((n_jets, n_max))) * valid
    x = weights / weights.sum(axis=1, keepdims=True)
    share = rng.uniform(*model.prong_share, n_jets)
    prong = (rng.random((n_jets, n_max)) < share[:, None]) & valid
    prong[:, 0], prong[:, 1] = False, True  # both prongs have a particle
    z = (x * prong).sum(axis=1)
    angle = rng.uniform(0.0, 2.0 * np.pi, n_jets)
    direction = np.stack([np.cos(angle), np.sin(angle)], axis=-1)[:, None, :]
    # Prong axes one unit apart with the pT centroid at the origin.
    axes = np.where(prong[..., None], -(1.0 - z)[:, None, None], z[:, None, None]) * direction
    scatter = rng.standard_normal((n_jets, n_max, 2))
    # Bisection in log r: tau21 grows with the prongs' width r.
    lo, hi = np.full(n_jets, np.log(1e-3)), np.full(n_jets, np.log(5.0))
    for _ in range(16):
        mid = 0.5 * (lo + hi)
        estimate = _tau21_estimate(axes + np.exp(mid)[:, None, None] * scatter, x, prong)
        low = estimate < tau21
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    pos = axes + np.exp(0.5 * (lo + hi))[:, None, None] * scatter
    pos -= (x[..., None] * pos).sum(axis=1, keepdims=True)
    # Small-angle jet mass: m^2 = pT^2 sum_i x_i |pos_i - centre|^2; scale to the target mass.
    spread = np.sqrt((x * (pos**2).sum(axis=-1)).sum(axis=1))
    pos *= (mass / pt / np.maximum(spread, 1e-12))[:, None, None]
    return x, pos[..., 0] * valid, pos[..., 1] * valid


def _four(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)


def _jet_mass_pt(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px, py, pz, e = (v.sum(axis=1) for v in _four(pt, eta, phi))
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)), np.hypot(px, py)


def _place(
    x: np.ndarray,
    deta: np.ndarray,
    dphi: np.ndarray,
    pt: np.ndarray,
    mass: np.ndarray,
    eta_axis: np.ndarray,
    phi_axis: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Particles around the jet axis with exact jet mass and pT (fixed-point on the angular and
    pT scales; the small-angle scaling of ``_jets`` is off by a few per cent at large m / pT).
    Every particle stays within ``JET_REACH`` of the jet's hardest particle, around which
    anti-kT grows the jet: farther ones would make jets of their own."""
    rows = np.arange(len(pt))
    hardest = np.argmax(x, axis=1)
    h_eta, h_phi = deta[rows, hardest][:, None], dphi[rows, hardest][:, None]
    distance = np.hypot(deta - h_eta, dphi - h_phi)
    shrink = np.minimum(1.0, JET_REACH / np.maximum(distance, 1e-12))
    deta, dphi = h_eta + (deta - h_eta) * shrink, h_phi + (dphi - h_phi) * shrink
    reach = JET_REACH / np.maximum(np.hypot(deta - h_eta, dphi - h_phi).max(axis=1), 1e-12)
    angle_scale, pt_scale = np.ones(len(pt)), np.ones(len(pt))
    for _ in range(6):
        s = angle_scale[:, None]
        p_pt = x * (pt * pt_scale)[:, None]
        m, p = _jet_mass_pt(p_pt, eta_axis[:, None] + s * deta, phi_axis[:, None] + s * dphi)
        pt_scale *= pt / np.maximum(p, 1e-12)
        angle_scale = np.minimum(angle_scale * mass / np.maximum(m * pt / np.maximum(p, 1e-12), 1e-12), reach)
    s = angle_scale[:, None]
    return x * (pt * pt_scale)[:, None], eta_axis[:, None] + s * deta, phi_axis[:, None] + s * dphi


def _axes(frame: pd.DataFrame, rng: np.random.Generator, model: ParticleModel) -> tuple[np.ndarray, np.ndarray]:
    """(eta, phi) of the two jets' axes, (n_events, 2) each, consistent with mjj."""
    m = frame[["mj1", "mj2"]].to_numpy(np.float64)
    pt = frame[["pt_j1", "pt_j2"]].to_numpy(np.float64)
    mjj = frame["mjj"].to_numpy(np.float64)
    mt = np.sqrt(pt**2 + m**2)
    half = 0.5 * (mjj**2 - m[:, 0] ** 2 - m[:, 1] ** 2)
    cosh_dy = (half - pt[:, 0] * pt[:, 1]) / (mt[:, 0] * mt[:, 1])
    dy = np.arccosh(np.maximum(cosh_dy, 1.0))
    # Below the back-to-back minimum: no rapidity gap, a smaller azimuthal gap instead.
    cos_dphi = np.clip((mt[:, 0] * mt[:, 1] - half) / (pt[:, 0] * pt[:, 1]), -1.0, 1.0)
    dphi = np.where(cosh_dy < 1.0, np.arccos(cos_dphi), np.pi)
    centre = model.centre_rapidity_sigma * rng.standard_normal(len(frame))
    sign = np.where(rng.random(len(frame)) < 0.5, 1.0, -1.0)
    y = np.stack([centre + sign * dy / 2, centre - sign * dy / 2], axis=1)
    eta = np.arcsinh(mt / pt * np.sinh(y))
    phi1 = rng.uniform(-np.pi, np.pi, len(frame))
    phi = np.stack([phi1, phi1 + dphi], axis=1)
    return eta, phi


def event_particles(
    frame: pd.DataFrame, n_per_jet: int, rng: np.random.Generator, model: ParticleModel = ParticleModel()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Particles of the events of ``frame`` (``mjj``, ``mj1``, ``mj2``, ``pt_j1``, ``pt_j2``,
    ``tau21_j1``, ``tau21_j2``; TeV): ``(pt, eta, phi)`` arrays (n_events, 2 n_per_jet),
    float32, pT in GeV, the lighter jet's particles first, zero-padded; see the module doc."""
    if n_per_jet < 3:
        raise ValueError(f"need at least 3 particles per jet, got {n_per_jet}")
    n = len(frame)
    eta_axis, phi_axis = _axes(frame, rng, model)
    out = np.zeros((3, n, 2 * n_per_jet), dtype=np.float32)
    for j, suffix in enumerate(("j1", "j2")):
        pt = frame[f"pt_{suffix}"].to_numpy(np.float64) * 1000.0
        mass = frame[f"mj{j + 1}"].to_numpy(np.float64) * 1000.0
        tau21 = frame[f"tau21_{suffix}"].to_numpy(np.float64)
        for lo in range(0, n, CHUNK_JETS):
            rows = slice(lo, min(lo + CHUNK_JETS, n))
            x, deta, dphi = _jets(pt[rows], mass[rows], tau21[rows], n_per_jet, rng, model)
            p_pt, p_eta, p_phi = _place(x, deta, dphi, pt[rows], mass[rows], eta_axis[rows, j], phi_axis[rows, j])
            p_phi = (p_phi + np.pi) % (2.0 * np.pi) - np.pi
            empty = x <= 0
            cols = slice(j * n_per_jet, (j + 1) * n_per_jet)
            for k, values in enumerate((p_pt, p_eta, p_phi)):
                out[k, rows, cols] = np.where(empty, 0.0, values)
    return out[0], out[1], out[2]


def particle_frame(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame:
    """The particle-level schema (``schema.particle_columns``): one row per event, float32,
    (n_events, n_particles) arrays interleaved as pT (GeV), eta, phi of each particle."""
    n_events, n = np.shape(pt)
    values = np.stack([np.asarray(v, dtype=np.float32) for v in (pt, eta, phi)], axis=-1)
    return pd.DataFrame(values.reshape(n_events, 3 * n), columns=particle_columns(n), index=index)


def frame_particles(frame: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pt, eta, phi)`` arrays (n_events, n) of a table in the particle-level schema."""
    values = frame[particle_columns(n)].to_numpy(np.float32).reshape(len(frame), n, len(PARTICLE_FIELDS))
    return values[..., 0], values[..., 1], values[..., 2]
