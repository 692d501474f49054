"""Fast generator of H->tautau (lepton + hadronic tau) events and their backgrounds.

Each process is built from its kinematics, vectorised over events:

- htautau / ztautau: a boson with its line shape (Breit-Wigner) and rapidity, decayed to two
  taus; one tau decays leptonically (three-body, Michel-like lepton spectrum), the other
  hadronically (pi, rho or a1 plus a neutrino). Its transverse momentum is the recoil against
  initial-state radiation: emissions are drawn first (count and pT per production mode) and the
  boson balances them, so jet multiplicity, jet pT and boson pT are correlated event by event.
  Higgs bosons come from gluon fusion (more and harder radiation than quark-initiated
  Drell-Yan) or, at their cross-section share, vector-boson fusion with two tagging jets.
- ttbar: a top pair (recoiling against its own radiation) decayed to b W each; one W gives the
  lepton (directly or through a tau), the other a hadronic tau (or a quark jet faking one);
  b-jets and light jets are real jets.
- diboson: WW (lepton + hadronic tau) and ZZ / WZ (Z -> tautau with the other boson decaying to
  neutrinos or quarks).

Then the detector: lepton, tau and jet resolutions, acceptance (jets above 22.5 GeV, the
lowest jet pT in the FAIR Universe rows), jet overlap removal, and the missing transverse
momentum rebuilt from the neutrinos, the mismeasurement of visible objects and a soft term. All momenta in GeV, angles in radians.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ...parallel import map_tasks
from .derived import with_derived_features
from .schema import EXPECTED_YIELDS, FEATURES, LUMINOSITY_FB, PRIMARY_FEATURES, PROCESSES, UNDEFINED, label_of

GENERATOR_VERSION = "2.0.0"

M_TAU = 1.77686
M_Z, GAMMA_Z = 91.1876, 2.4952
M_H, GAMMA_H = 125.1, 0.0041
M_W, GAMMA_W = 80.377, 2.085
M_TOP, GAMMA_TOP = 172.5, 1.42
M_B = 4.8
SQRT_S = 13000.0

LEP_PT_MIN, HAD_PT_MIN, JET_PT_MIN = 20.0, 23.0, 22.5
LEP_ETA_MAX, HAD_ETA_MAX, JET_ETA_MAX = 2.5, 2.5, 4.7
MAX_JETS = 8
TAU_CONE_GAIN = 1.12  # reconstructed / visible tau pT: extra neutral energy in the tau cone
_BATCH = 100_000


# --- four-vector helpers; arrays of shape (n, 4) holding (E, px, py, pz) --------------------
def _isotropic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cos_t = rng.uniform(-1.0, 1.0, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    return sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t


def _two_body(
    m_parent: np.ndarray, m1: np.ndarray, m2: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic two-body decay in the parent rest frame; returns both daughters' four-vectors."""
    m_parent, m1, m2 = np.broadcast_arrays(m_parent, m1, m2)
    arg = (m_parent**2 - (m1 + m2) ** 2) * (m_parent**2 - (m1 - m2) ** 2)
    p = np.sqrt(np.maximum(arg, 0.0)) / (2.0 * m_parent)
    ux, uy, uz = _isotropic(len(p), rng)
    e1, e2 = np.sqrt(p**2 + m1**2), np.sqrt(p**2 + m2**2)
    d1 = np.stack([e1, p * ux, p * uy, p * uz], axis=1)
    d2 = np.stack([e2, -p * ux, -p * uy, -p * uz], axis=1)
    return d1, d2


def _boost(p: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Boost ``p`` from the rest frame of ``parent`` into the frame where ``parent`` is given."""
    beta = parent[:, 1:] / parent[:, :1]
    b2 = np.clip((beta**2).sum(axis=1), 0.0, 1.0 - 1e-12)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = (beta * p[:, 1:]).sum(axis=1)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0) * bp + gamma * p[:, 0]
    energy = gamma * (p[:, 0] + bp)
    return np.concatenate([energy[:, None], p[:, 1:] + coef[:, None] * beta], axis=1)


def _from_pt_y_phi_m(pt: np.ndarray, y: np.ndarray, phi: np.ndarray, m: np.ndarray) -> np.ndarray:
    mt = np.sqrt(pt**2 + m**2)
    return np.stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], axis=1)


def _pt_eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(p[:, 1], p[:, 2])
    eta = np.arcsinh(p[:, 3] / np.maximum(pt, 1e-9))
    return pt, eta, np.arctan2(p[:, 2], p[:, 1])


def _breit_wigner(mass: float, width: float, low: float, high: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Relativistic-enough Cauchy line shape truncated to [low, high], by inverse CDF."""
    a, b = np.arctan(2 * (low - mass) / width), np.arctan(2 * (high - mass) / width)
    return mass + 0.5 * width * np.tan(rng.uniform(a, b, n))


# --- tau decays -------------------------------------------------------------------------
def _oriented(cos_t: np.ndarray, axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors (n, 3) at polar angle arccos(cos_t) about ``axis`` (n, 3), azimuth uniform."""
    u = axis / np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    helper = np.where(np.abs(u[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    w = np.cross(u, v)
    phi = rng.uniform(-np.pi, np.pi, len(u))
    sin_t = np.sqrt(np.clip(1.0 - cos_t**2, 0.0, 1.0))
    return cos_t[:, None] * u + sin_t[:, None] * (np.cos(phi)[:, None] * v + np.sin(phi)[:, None] * w)


def _tau_leptonic(
    tau: np.ndarray, rng: np.random.Generator, polarisation: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """tau -> l nu nu: lepton energy fraction x and angle theta to the tau's direction of flight
    (its helicity axis) from the polarised Michel spectrum x^2 [(3 - 2x) + P (1 - 2x) cos(theta)]
    (massless lepton; P = +1 / -1 is a right- / left-handed tau-, the CP mirror for tau+)."""
    n = len(tau)
    pol = np.broadcast_to(np.asarray(polarisation, dtype=np.float64), (n,))
    x, cos_t = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while todo.size:  # rejection sampling under the envelope 2 (acceptance 1/4)
        trial_x = rng.uniform(0.0, 1.0, todo.size)
        trial_c = rng.uniform(-1.0, 1.0, todo.size)
        density = trial_x**2 * ((3.0 - 2.0 * trial_x) + pol[todo] * (1.0 - 2.0 * trial_x) * trial_c)
        ok = rng.uniform(0.0, 2.0, todo.size) < density
        x[todo[ok]], cos_t[todo[ok]] = trial_x[ok], trial_c[ok]
        todo = todo[~ok]
    e = np.maximum(x, 1e-3) * M_TAU / 2.0
    direction = _oriented(cos_t, tau[:, 1:], rng)
    rest = np.zeros((n, 4))
    rest[:, 0] = M_TAU
    lep_rest = np.concatenate([e[:, None], e[:, None] * direction], axis=1)
    return _boost(lep_rest, tau), _boost(rest - lep_rest, tau)


def _tau_hadronic(
    tau: np.ndarray, rng: np.random.Generator, polarisation: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """tau -> h nu with h a pion, rho(770) or a1(1260) at the PDG shares of the hadronic decays
    (17%, 39%, 44%: the three-pion modes together). The hadron's angle theta to the tau's
    direction of flight follows 1 + P a cos(theta), a = (m_tau^2 - 2 m_h^2) / (m_tau^2 + 2 m_h^2)
    (1 for the pion, ~0.45 for the rho, ~0 for the a1)."""
    n = len(tau)
    pol = np.broadcast_to(np.asarray(polarisation, dtype=np.float64), (n,))
    mode = rng.choice(3, size=n, p=[0.17, 0.39, 0.44])
    m_vis = np.where(
        mode == 0,
        0.1396,
        np.where(mode == 1, _breit_wigner(0.775, 0.149, 0.3, 1.6, n, rng), _breit_wigner(1.23, 0.42, 0.5, 1.7, n, rng)),
    )
    slope = pol * (M_TAU**2 - 2.0 * m_vis**2) / (M_TAU**2 + 2.0 * m_vis**2)
    cos_t = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        trial = rng.uniform(-1.0, 1.0, todo.size)
        ok = rng.uniform(0.0, 2.0, todo.size) < 1.0 + slope[todo] * trial
        cos_t[todo[ok]] = trial[ok]
        todo = todo[~ok]
    p = (M_TAU**2 - m_vis**2) / (2.0 * M_TAU)
    direction = _oriented(cos_t, tau[:, 1:], rng)
    vis_rest = np.concatenate([np.sqrt(p**2 + m_vis**2)[:, None], p[:, None] * direction], axis=1)
    nu_rest = np.concatenate([p[:, None], -p[:, None] * direction], axis=1)
    return _boost(vis_rest, tau), _boost(nu_rest, tau)


TAU_POLARISATION_Z = -0.15
"""Longitudinal tau polarisation in Z decays (LEP: 2 sin^2(theta_W) - 1/2 coupling ratio)."""


def _ditau(
    boson: np.ndarray, rng: np.random.Generator, spin_one: bool, lepton_pt_min: float = 0.0
) -> tuple[np.ndarray, ...]:
    """Boson -> tau tau -> (lepton, nus) (hadron, nu), with the taus' spin correlation.

    The taus decay in the boson rest frame, where their directions are the helicity axes. A
    vector boson gives tau- and tau+ opposite helicities, which makes their decays alike (the
    same effective polarisation, -1 with probability (1 - P_Z) / 2); a scalar gives equal
    helicities, decays of opposite effective polarisation (+-1 at random). This correlates the
    visible energy fractions of the two taus (the other way round for Z and H) and so the
    missing momentum and visible mass.

    Returns the mask of kept bosons and, for those, the lepton, visible hadron and total
    neutrino four-vectors. Bosons whose lepton has pT below ``lepton_pt_min`` are dropped before
    the hadronic decay: the soft lepton of a leptonic tau decay rejects most Z -> tautau events,
    so cutting early saves most of the work.
    """
    n = len(boson)
    m = np.sqrt(np.maximum(boson[:, 0] ** 2 - (boson[:, 1:] ** 2).sum(axis=1), 0.0))
    tau1, tau2 = _two_body(m, np.full(n, M_TAU), np.full(n, M_TAU), rng)
    if spin_one:  # Drell-Yan angular distribution 1 + cos^2(theta) about the beam axis
        cos_t = _one_plus_cos2(n, rng)
        p = np.linalg.norm(tau1[:, 1:], axis=1)
        phi = rng.uniform(-np.pi, np.pi, n)
        sin_t = np.sqrt(1 - cos_t**2)
        direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
        tau1[:, 1:] = p[:, None] * direction
        tau2[:, 1:] = -tau1[:, 1:]
        pol_lep = np.where(rng.uniform(size=n) < (1.0 - TAU_POLARISATION_Z) / 2.0, -1.0, 1.0)
        pol_had = pol_lep
    else:
        pol_lep = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
        pol_had = -pol_lep
    lep, nus_l = _tau_leptonic(tau1, rng, pol_lep)
    lep, nus_l = _boost(lep, boson), _boost(nus_l, boson)
    keep = np.hypot(lep[:, 1], lep[:, 2]) >= lepton_pt_min
    had, nu_h = _tau_hadronic(tau2[keep], rng, pol_had[keep])
    had, nu_h = _boost(had, boson[keep]), _boost(nu_h, boson[keep])
    return keep, lep[keep], had, nus_l[keep] + nu_h


def _one_plus_cos2(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        c = rng.uniform(-1.0, 1.0, todo.size)
        ok = rng.uniform(0.0, 2.0, todo.size) < 1.0 + c**2
        out[todo[ok]] = c[ok]
        todo = todo[~ok]
    return out


# --- jets ---------------------------------------------------------------------------------
EMISSION_PT_MIN = 12.0
"""Truth pT (GeV) above which initial-state emissions are followed one by one; softer ones are
the unclustered recoil (a Gaussian kick of the hard system)."""


class Radiation(NamedTuple):
    """Initial-state radiation of one process (counts and pT of emissions above EMISSION_PT_MIN).

    ``mean`` and ``shape``: negative-binomial number of emissions (shape 1 is the geometric
    "staircase" of quark-initiated Drell-Yan, a large shape the Poisson-like counts of
    gluon-initiated production); ``pt_scale`` (GeV) and ``pt_power``: Lomax (Pareto II) pT
    above the threshold; ``eta_width``: spread of the emissions' pseudorapidity about the hard
    system's; ``soft``: per-component Gaussian width (GeV) of the unclustered recoil.
    """

    mean: float
    shape: float
    pt_scale: float
    pt_power: float
    eta_width: float
    soft: float


def _lomax(minimum: float, scale: float, power: float, size: Any, rng: np.random.Generator) -> np.ndarray:
    """pT above ``minimum`` with density ~ (1 + (pT - minimum) / scale)^-(power + 1)."""
    return minimum + scale * ((1.0 - rng.uniform(0.0, 1.0, size)) ** (-1.0 / power) - 1.0)


def _isr(
    n: int, rad: Radiation, centre_y: np.ndarray, rng: np.random.Generator, slots: int = MAX_JETS
) -> tuple[np.ndarray, np.ndarray]:
    """Initial-state emissions and the recoil they give the hard system.

    Returns the emissions' four-vectors (n, slots, 4; massless, zero in unused slots) and the
    hard system's transverse momentum (n, 2): minus the emissions' vector sum and the soft kick,
    so the jets balance the boson event by event (momentum conservation, not a fitted spectrum).
    """
    count = rng.negative_binomial(rad.shape, rad.shape / (rad.shape + rad.mean), n).clip(max=slots)
    present = np.arange(slots)[None, :] < count[:, None]
    pt = np.where(present, _lomax(EMISSION_PT_MIN, rad.pt_scale, rad.pt_power, (n, slots), rng), 0.0)
    eta = 0.5 * centre_y[:, None] + rng.normal(0.0, rad.eta_width, (n, slots))
    phi = rng.uniform(-np.pi, np.pi, (n, slots))
    jets = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=2)
    recoil = -jets[..., 1:3].sum(axis=1) + rng.normal(0.0, rad.soft, (n, 2))
    return jets, recoil


def _jets_from(*vectors: np.ndarray) -> np.ndarray:
    """Stack single jets (n, 4) and jet collections (n, k, 4) into (n, K, 4)."""
    return np.concatenate([v[:, None, :] if v.ndim == 2 else v for v in vectors], axis=1)


def _system(pt_xy: np.ndarray, y: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Four-vectors (n, 4) of systems with transverse momentum ``pt_xy`` (n, 2), rapidity, mass."""
    pt = np.hypot(pt_xy[:, 0], pt_xy[:, 1])
    return _from_pt_y_phi_m(pt, y, np.arctan2(pt_xy[:, 1], pt_xy[:, 0]), mass)


# Drell-Yan Z is quark-initiated (colour factor C_F); gluon fusion to H radiates more and harder
# (C_A / C_F = 9/4), top pairs from gluons likewise; diboson is quark-initiated.
RADIATION: dict[str, Radiation] = {
    "ztautau": Radiation(mean=1.4, shape=1.0, pt_scale=25.0, pt_power=3.0, eta_width=2.0, soft=5.0),
    "ggf": Radiation(mean=2.4, shape=4.0, pt_scale=36.0, pt_power=2.6, eta_width=2.0, soft=8.0),
    "vbf": Radiation(mean=0.4, shape=4.0, pt_scale=16.0, pt_power=2.6, eta_width=2.0, soft=6.0),
    "ttbar": Radiation(mean=1.2, shape=4.0, pt_scale=24.0, pt_power=2.6, eta_width=2.0, soft=8.0),
    "diboson": Radiation(mean=0.75, shape=1.0, pt_scale=18.0, pt_power=2.6, eta_width=2.0, soft=7.0),
}

VBF_SHARE = 0.075
"""Vector-boson fusion share of produced Higgs bosons (13 TeV cross sections: 3.8 of 52.4 pb for
gluon fusion plus VBF); the selection then keeps whatever share the kinematics give."""


def _vbf_tag_jets(n: int, centre_y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The two tagging quarks of vector-boson fusion (n, 2, 4): forward-backward about the Higgs
    rapidity with a wide rapidity gap, pT of order the W mass (the t-channel propagators)."""
    gap = np.abs(rng.normal(4.3, 1.5, n))
    centre = centre_y + rng.normal(0.0, 0.7, n)
    eta = np.stack([centre + gap / 2, centre - gap / 2], axis=1)
    pt = EMISSION_PT_MIN + rng.gamma(2.0, 0.35 * M_W, (n, 2))
    phi = rng.uniform(-np.pi, np.pi, (n, 2))
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=2)


# --- processes ----------------------------------------------------------------------------
def _boson_events(process: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    if process == "ztautau":
        mass = _breit_wigner(M_Z, GAMMA_Z, 60.0, 140.0, n, rng)
        y = rng.normal(0.0, 1.9, n)
        jets, recoil = _isr(n, RADIATION["ztautau"], y, rng)
    else:
        mass = _breit_wigner(M_H, GAMMA_H, 120.0, 130.0, n, rng)
        y = rng.normal(0.0, 1.6, n)
        vbf = rng.uniform(size=n) < VBF_SHARE
        jets, recoil = _isr(n, RADIATION["ggf"], y, rng)
        if vbf.any():
            extra, extra_recoil = _isr(int(vbf.sum()), RADIATION["vbf"], y[vbf], rng, slots=MAX_JETS - 2)
            tags = _vbf_tag_jets(int(vbf.sum()), y[vbf], rng)
            jets[vbf] = _jets_from(tags, extra)
            recoil[vbf] = extra_recoil - tags[..., 1:3].sum(axis=1)
    boson = _system(recoil, y, mass)
    # Most tau pairs fail the lepton / tau thresholds; drop them before the costly steps (loose
    # truth-level cuts, 4 sigma of resolution below the reconstructed thresholds).
    kept, lep, had, nus = _ditau(boson, rng, spin_one=(process == "ztautau"), lepton_pt_min=0.92 * LEP_PT_MIN)
    jets = jets[kept]
    keep = np.hypot(had[:, 1], had[:, 2]) * TAU_CONE_GAIN > 0.7 * HAD_PT_MIN
    return {"lep": lep[keep], "had": had[keep], "nu": nus[keep], "jets": jets[keep]}


def _w_decay_leptonic(w: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W -> l nu (70%) or W -> tau nu -> l nu nu nu (30%); returns lepton and neutrinos."""
    n = len(w)
    m = np.sqrt(np.maximum(w[:, 0] ** 2 - (w[:, 1:] ** 2).sum(axis=1), 1.0))
    via_tau = rng.uniform(size=n) < 0.3
    first, second = _two_body(m, np.where(via_tau, M_TAU, 0.0), np.zeros(n), rng)
    first, second = _boost(first, w), _boost(second, w)
    lep = first.copy()
    nus = second.copy()
    if via_tau.any():
        l_tau, nus_tau = _tau_leptonic(first[via_tau], rng)
        lep[via_tau] = l_tau
        nus[via_tau] += nus_tau
    return lep, nus


def _w_decay_hadronic_tau(
    w: np.ndarray, rng: np.random.Generator, fake_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W -> tau_h nu, or W -> q q' with one quark jet faking the tau (fraction ``fake_rate``).

    Returns the visible tau candidate, neutrinos, and the other quark jet (zero when absent).
    """
    n = len(w)
    m = np.sqrt(np.maximum(w[:, 0] ** 2 - (w[:, 1:] ** 2).sum(axis=1), 1.0))
    fake = rng.uniform(size=n) < fake_rate
    first, second = _two_body(m, np.where(fake, 0.0, M_TAU), np.zeros(n), rng)
    first, second = _boost(first, w), _boost(second, w)
    vis, nu = _tau_hadronic(first, rng)
    # A faking quark jet leaves a narrow, less energetic tau candidate; the other quark is a jet.
    vis = np.where(fake[:, None], first * rng.uniform(0.55, 0.9, n)[:, None], vis)
    nus = np.where(fake[:, None], 0.0, nu + second)
    other_jet = np.where(fake[:, None], second, 0.0)
    return vis, nus, other_jet


def _ttbar_events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    m_tt = 2 * M_TOP + 10.0 + rng.gamma(1.6, 110.0, n)
    y = rng.normal(0.0, 1.0, n)
    isr, recoil = _isr(n, RADIATION["ttbar"], y, rng, slots=3)
    system = _system(recoil, y, m_tt)
    m_t1 = _breit_wigner(M_TOP, GAMMA_TOP, M_TOP - 15, M_TOP + 15, n, rng)
    m_t2 = _breit_wigner(M_TOP, GAMMA_TOP, M_TOP - 15, M_TOP + 15, n, rng)
    top1, top2 = _two_body(m_tt, m_t1, m_t2, rng)
    top1, top2 = _boost(top1, system), _boost(top2, system)
    m_w1 = _breit_wigner(M_W, GAMMA_W, 60.0, 100.0, n, rng)
    m_w2 = _breit_wigner(M_W, GAMMA_W, 60.0, 100.0, n, rng)
    w1, b1 = _two_body(m_t1, m_w1, np.full(n, M_B), rng)
    w2, b2 = _two_body(m_t2, m_w2, np.full(n, M_B), rng)
    w1, b1, w2, b2 = _boost(w1, top1), _boost(b1, top1), _boost(w2, top2), _boost(b2, top2)
    lep, nus1 = _w_decay_leptonic(w1, rng)
    had, nus2, q_jet = _w_decay_hadronic_tau(w2, rng, fake_rate=0.35)
    return {"lep": lep, "had": had, "nu": nus1 + nus2, "jets": _jets_from(b1, b2, q_jet, isr)}


def _diboson_events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ww = rng.uniform(size=n) < 0.55
    m_vv = np.where(ww, 2 * M_W, 2 * M_Z) + 5.0 + rng.gamma(1.4, 70.0, n)
    y = rng.normal(0.0, 1.4, n)
    isr, recoil = _isr(n, RADIATION["diboson"], y, rng, slots=3)
    system = _system(recoil, y, m_vv)
    m1 = np.where(ww, _breit_wigner(M_W, GAMMA_W, 60, 100, n, rng), _breit_wigner(M_Z, GAMMA_Z, 70, 110, n, rng))
    m2 = np.where(ww, _breit_wigner(M_W, GAMMA_W, 60, 100, n, rng), _breit_wigner(M_Z, GAMMA_Z, 70, 110, n, rng))
    v1, v2 = _two_body(m_vv, m1, m2, rng)
    v1, v2 = _boost(v1, system), _boost(v2, system)
    # WW: one W gives the lepton, the other the hadronic tau.
    lep_w, nus_w1 = _w_decay_leptonic(v1, rng)
    had_w, nus_w2, q_w = _w_decay_hadronic_tau(v2, rng, fake_rate=0.2)
    # ZZ / WZ: one Z -> tau tau (lepton + hadronic tau); the other boson -> nu nu (35%) or q q.
    _, lep_z, had_z, nus_z = _ditau(v1, rng, spin_one=True)
    q1, q2 = _two_body(m2, np.zeros(n), np.zeros(n), rng)
    q1, q2 = _boost(q1, v2), _boost(q2, v2)
    invisible = rng.uniform(size=n) < 0.35
    sel = ww[:, None]
    lep = np.where(sel, lep_w, lep_z)
    had = np.where(sel, had_w, had_z)
    nus = np.where(sel, nus_w1 + nus_w2, nus_z + np.where(invisible[:, None], v2, 0.0))
    quarks = np.where(
        sel[:, :, None],
        np.stack([q_w, np.zeros_like(q_w)], axis=1),
        np.where(invisible[:, None, None], 0.0, np.stack([q1, q2], axis=1)),
    )
    return {"lep": lep, "had": had, "nu": nus, "jets": _jets_from(quarks, isr)}


# --- detector -------------------------------------------------------------------------------
def _detector(truth: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Smear, select and build the 16 primary features; returns the frame and the pass mask."""
    n = len(truth["lep"])
    lep_pt, lep_eta, lep_phi = _pt_eta_phi(truth["lep"])
    had_pt, had_eta, had_phi = _pt_eta_phi(truth["had"])
    lep_pt_reco = lep_pt * rng.normal(1.0, 0.02, n)
    # A reconstructed tau jet also collects neutral hadrons and underlying event in its cone:
    # real, measured particles (TAU_CONE_GAIN), so only the resolution term fakes missing momentum.
    had_pt_cone = had_pt * TAU_CONE_GAIN
    had_pt_reco = had_pt_cone * rng.normal(1.0, 0.075, n)

    jets = truth["jets"]
    jet_pt = np.hypot(jets[..., 1], jets[..., 2])
    jet_eta = np.arcsinh(jets[..., 3] / np.maximum(jet_pt, 1e-9))
    jet_phi = np.arctan2(jets[..., 2], jets[..., 1])
    resolution = np.sqrt(0.9**2 / np.maximum(jet_pt, 1.0) + 0.05**2)
    jet_pt_reco = jet_pt * np.maximum(rng.normal(1.0, resolution), 0.05)

    def delta_r(eta, phi, eta0, phi0):
        dphi = np.mod(phi - phi0[:, None] + np.pi, 2 * np.pi) - np.pi
        return np.hypot(eta - eta0[:, None], dphi)

    jet_ok = (
        (jet_pt_reco > JET_PT_MIN)
        & (np.abs(jet_eta) < JET_ETA_MAX)
        & (jet_pt > 0)
        & (delta_r(jet_eta, jet_phi, lep_eta, lep_phi) > 0.4)
        & (delta_r(jet_eta, jet_phi, had_eta, had_phi) > 0.4)
    )
    ranked_pt = np.where(jet_ok, jet_pt_reco, -1.0)
    order = np.argsort(-ranked_pt, axis=1)
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    s_pt, s_eta, s_phi, s_ok = take(ranked_pt), take(jet_eta), take(jet_phi), take(jet_ok)
    n_jets = jet_ok.sum(axis=1)
    all_pt = np.where(jet_ok, jet_pt_reco, 0.0).sum(axis=1)

    # MET: neutrinos, minus the mismeasurement of what was seen, plus an unclustered soft term.
    met_x = truth["nu"][:, 1] - (lep_pt_reco - lep_pt) * np.cos(lep_phi) - (had_pt_reco - had_pt_cone) * np.cos(had_phi)
    met_y = truth["nu"][:, 2] - (lep_pt_reco - lep_pt) * np.sin(lep_phi) - (had_pt_reco - had_pt_cone) * np.sin(had_phi)
    dj = np.where(jet_ok, jet_pt_reco - jet_pt, 0.0)
    # jets below threshold are part of the soft term: their momentum is not in the sum.
    met_x -= (dj * np.cos(jet_phi)).sum(axis=1)
    met_y -= (dj * np.sin(jet_phi)).sum(axis=1)
    sum_et = lep_pt_reco + had_pt_reco + all_pt
    soft = 4.0 + 0.35 * np.sqrt(sum_et)
    met_x += rng.normal(0.0, 1.0, n) * soft
    met_y += rng.normal(0.0, 1.0, n) * soft

    passed = (
        (lep_pt_reco > LEP_PT_MIN)
        & (np.abs(lep_eta) < LEP_ETA_MAX)
        & (had_pt_reco > HAD_PT_MIN)
        & (np.abs(had_eta) < HAD_ETA_MAX)
    )

    def jet_column(values: np.ndarray, k: int) -> np.ndarray:
        return np.where(s_ok[:, k], values[:, k], UNDEFINED)

    frame = pd.DataFrame(
        {
            "PRI_lep_pt": lep_pt_reco,
            "PRI_lep_eta": lep_eta,
            "PRI_lep_phi": lep_phi,
            "PRI_had_pt": had_pt_reco,
            "PRI_had_eta": had_eta,
            "PRI_had_phi": had_phi,
            "PRI_jet_leading_pt": jet_column(s_pt, 0),
            "PRI_jet_leading_eta": jet_column(s_eta, 0),
            "PRI_jet_leading_phi": jet_column(s_phi, 0),
            "PRI_jet_subleading_pt": jet_column(s_pt, 1),
            "PRI_jet_subleading_eta": jet_column(s_eta, 1),
            "PRI_jet_subleading_phi": jet_column(s_phi, 1),
            "PRI_n_jets": n_jets.astype(np.float64),
            "PRI_jet_all_pt": all_pt,
            "PRI_met": np.hypot(met_x, met_y),
            "PRI_met_phi": np.arctan2(met_y, met_x),
        }
    )
    return frame, passed


_TRUTH = {
    "htautau": lambda n, rng: _boson_events("htautau", n, rng),
    "ztautau": lambda n, rng: _boson_events("ztautau", n, rng),
    "ttbar": _ttbar_events,
    "diboson": _diboson_events,
}


def generate_process(process: str, n_events: int, rng: np.random.Generator) -> pd.DataFrame:
    """Generate exactly ``n_events`` selected events of one process.

    Returns the 16 ``PRI_*`` columns (float32; GeV, radians; undefined jet values -25).
    Events are produced in batches and kept when they pass the generation-level selection
    (lepton pT > 20, hadronic tau pT > 23 GeV, both |eta| < 2.5).
    """
    if process not in _TRUTH:
        raise ValueError(f"unknown process {process!r}; expected one of {PROCESSES}")
    if n_events < 0:
        raise ValueError("n_events must be non-negative")
    parts, have = [], 0
    while have < n_events:
        frame, passed = _detector(_TRUTH[process](_BATCH, rng), rng)
        kept = frame.loc[passed]
        parts.append(kept)
        have += len(kept)
    out = pd.concat(parts, ignore_index=True).iloc[:n_events] if parts else pd.DataFrame(columns=list(PRIMARY_FEATURES))
    return out.round(3).astype(np.float32).reset_index(drop=True)


def _weighted_process(
    process: str, n_events: int, stream: np.random.SeedSequence, luminosity_fb: float
) -> pd.DataFrame:
    frame = generate_process(process, n_events, np.random.default_rng(stream))
    frame = with_derived_features(frame)
    frame["weights"] = EXPECTED_YIELDS[process] * (luminosity_fb / LUMINOSITY_FB) / n_events
    frame["detailed_labels"] = process
    frame["labels"] = np.int8(label_of(process))
    return frame


def generate_events(
    n_per_process: Mapping[str, int], seed: int, luminosity_fb: float = LUMINOSITY_FB, *, client: Any = None
) -> pd.DataFrame:
    """Generate a weighted data set with every requested process.

    Parameters
    ----------
    n_per_process:
        Simulated events per process name (``schema.PROCESSES``).
    seed:
        Seed; each process has its own stream, so changing one process's count leaves the
        others' events unchanged.
    luminosity_fb:
        The weights of each process sum to its expected yield at this luminosity.
    client:
        A ``distributed.Client``: the processes are generated on its workers, one task each
        (their streams are independent, so the events are those of the serial run).

    Returns
    -------
    Shuffled frame: ``FEATURES`` (float32), ``weights`` (float64), ``detailed_labels`` (str),
    ``labels`` (int8, 1 for htautau).
    """
    unknown = set(n_per_process) - set(PROCESSES)
    if unknown:
        raise ValueError(f"unknown process(es) {sorted(unknown)}; expected {PROCESSES}")
    streams = dict(zip(PROCESSES, np.random.SeedSequence(seed).spawn(len(PROCESSES))))
    tasks = [
        (p, int(n_per_process.get(p, 0)), streams[p], luminosity_fb)
        for p in PROCESSES
        if int(n_per_process.get(p, 0)) > 0
    ]
    if not tasks:
        raise ValueError("no events requested")
    data = pd.concat(map_tasks(_weighted_process, tasks, client=client), ignore_index=True)
    order = np.random.default_rng(np.random.SeedSequence([seed, 1])).permutation(len(data))
    data = data.iloc[order].reset_index(drop=True)
    return data[[*FEATURES, "weights", "detailed_labels", "labels"]]
