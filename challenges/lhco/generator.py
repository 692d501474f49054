"""Fast generator of LHC Olympics R&D-like dijet events (SPEC section 2), vectorised.

Both processes build the two jets as four-vectors: back to back in the pair's rest frame, the
pair then boosted transversely by its recoil against initial-state radiation (a log-normal
pT, which gives the jets' pT imbalance and azimuthal gap), each jet's four-momentum multiplied
by a Gaussian detector response (so pT, jet mass and mjj move together), mjj computed from the
two four-vectors, and the trigger (leading jet above 1.2 TeV) applied by rejection.

Background (QCD dijets): the hard scattering's pT follows a power law (drawn from below the
trigger, which the ISR recoil can pass), its rapidity difference a half-normal. Jet masses are
log-normal in rho = m / pT (with a mild fall with mjj at fixed pT). tau21 is a logistic whose
mean is flat for light jets and falls linearly in ln rho above a knee, with small pT and mjj
slopes (the quark share rises with mjj).

Signal W' -> X(qq) Y(qq): a Breit-Wigner W' decaying with 1 + a cos^2(theta*) into X and Y.
Jet masses are the resonance masses smeared, plus radiation caught in the cone (a log-uniform
share of pT^2, which also adds momentum and a third prong: higher tau21); some jets lose their
softer prong (the hard quark alone: QCD mass and tau21, less momentum); a small exponential
out-of-cone loss lowers pT, mass and mjj together. Two-prong jets have low tau21.

The shape parameters were fitted (Nelder-Mead on the marginals' Wasserstein distances and the
28 pairwise rank correlations) to the odd-numbered blocks of the public high-level subset in
``reference_data`` and checked with the classifier two-sample test on the even-numbered ones
(docs/validation.md).

Events are generated in chunks of :data:`CHUNK_EVENTS`; chunk ``k`` of a process draws from
its own ``SeedSequence([seed, process, k])``, so chunks can run in parallel (``client``) and
the result does not depend on how they were scheduled. Masses and momenta in TeV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...parallel import map_tasks
from .schema import COLUMNS, LABEL

GENERATOR_VERSION = "2.0.0"
CHUNK_EVENTS = 100_000
TRIGGER_PT = 1.2
"""Leading-jet pT threshold (TeV) of the R&D set."""
SQRT_S = 13.0
"""Collision energy (TeV)."""
EXTRA_COLUMNS: tuple[str, ...] = ("mj2", "pt_j1", "pt_j2")
PROCESSES: dict[str, int] = {"background": 0, "signal": 1}


@dataclass(frozen=True)
class BackgroundModel:
    """Shape parameters of the QCD dijet background (TeV)."""

    pt_power: float = 6.19
    """Density of the hard scattering's pT (in the dijet rest frame) ~ pT^-pt_power above ``pt_min``."""
    pdf_power: float = 5.35
    """The pT power law is multiplied by (1 - x_T)^pdf_power, x_T = 2 pT / 13 TeV: the parton
    luminosities' fall at large momentum fractions, which shortens the mjj tail."""
    pt_min: float = 1.131
    """Lowest hard-scattering pT drawn (TeV): below the trigger, which ISR recoil can still pass."""
    dy_scale: float = 1.146
    """Scale of |y1 - y2| (half-normal) of the hard scattering."""
    boost_sigma: float = 0.556
    """Gaussian spread of the pair's rapidity (y1 + y2) / 2."""
    y_max: float = 2.04
    """Both jets within |y| < y_max (the R&D jets are central: |eta| below 2.3)."""
    isr_pt: tuple[float, float] = (0.0996, 0.8335)
    """(median in TeV, sigma of ln) of the log-normal pT of the dijet system, the recoil against
    initial-state radiation: it boosts the pair transversely (pT imbalance, azimuthal gap)."""
    response_sigma: float = 0.0456
    """Relative Gaussian jet response: scales each jet's four-momentum (pT, mass and mjj together)."""
    log_rho_mean: float = -2.1559
    """Mean of ln(m / pT) of a jet."""
    log_rho_sigma: float = 0.7307
    mass_mjj_slope: float = -0.1009
    """d ln m / d ln(mjj / 3 TeV) at fixed pT: through pT the masses still rise with mjj."""
    tau_offset: float = 0.401
    """tau21 = 1.15 sigmoid(tau_offset + tau_slope h + tau_sigma z), with h = w softplus((ln rho -
    tau_knee) / w), w = ``tau_knee_width``: flat for light jets (rho = m / pT below
    e^tau_knee), falling linearly in ln rho for heavier ones (as in the real R&D jets)."""
    tau_slope: float = -0.871
    tau_knee: float = -2.465
    tau_sigma: float = 0.8126
    tau_knee_width: float = 0.2
    tau_pt_slope: float = -0.33
    """d logit / d ln(pT / 1.3 TeV) of tau21 at fixed rho."""
    tau_mjj_slope: float = -0.16
    """d logit / d ln(mjj / 3 TeV) of tau21 at fixed rho and pT (the quark share of the jets
    rises with mjj)."""


@dataclass(frozen=True)
class SignalModel:
    """W' -> X(qq) Y(qq) with masses in TeV."""

    m_wprime: float = 3.5
    m_x: float = 0.5
    m_y: float = 0.1
    width_wprime: float = 0.015
    """Relative natural width of the W' (Breit-Wigner Gamma / M)."""
    decay_cos2: float = -0.5
    """Angular distribution of the decay in the W' rest frame, 1 + decay_cos2 cos^2(theta*)
    (0 isotropic; -1 a transversely polarised spin-1 W' into two spin-0 or longitudinal states)."""
    isr_pt: tuple[float, float] = (0.046, 0.9)
    """(median TeV, sigma of ln) of the W' pT (recoil against initial-state radiation)."""
    response_sigma: float = 0.045
    """Relative Gaussian jet response (four-momentum scale)."""
    out_of_cone: float = 0.005
    """Mean (exponential) fraction of a jet's four-momentum radiated outside the R = 1.0 cone:
    lowers pT, mass and mjj together (the low mjj tail)."""
    captured: float = 0.38
    """Probability that a jet catches a hard extra emission (gluon radiation, underlying event) in
    its cone; it adds u pT^2 to m^2 with u log-uniform in ``captured_u`` (the soft and
    collinear dx / x dtheta^2 / theta^2 spectrum) and u / theta^2 (theta uniform in
    ``captured_angle``) to the jet's momentum."""
    captured_u: tuple[float, float] = (0.0001, 0.06)
    captured_angle: tuple[float, float] = (0.5, 1.0)
    soft_mass: float = 0.045
    """Mass (TeV) added in quadrature to every resonance jet by soft radiation and the underlying
    event in the R = 1.0 cone: shifts the light Y jet's peak (to ~108 GeV), not the X's."""
    mass_resolution: float = 0.04
    """Relative Gaussian resolution of the X and Y jet masses (angles of the constituents)."""
    lost_fraction: tuple[float, float] = (0.125, 0.02)
    """Fraction of X and Y jets whose softer prong falls outside the R = 1.0 jet (the wider
    X -> qq, dR ~ 2 m / pT, more often): the jet keeps the hard quark, 1 - z of the momentum
    with z uniform in (0, ``lost_z``), a QCD quark-jet mass and a QCD-like tau21."""
    lost_z: float = 0.19
    tau_x: tuple[float, float] = (-1.72, 0.8)
    """(offset, sigma) of the logistic tau21 of the two-prong X jet (see ``BackgroundModel``)."""
    tau_y: tuple[float, float] = (-0.87, 0.72)
    tau_captured: float = 1.4
    """Rise of tau21's logit per unit of the share of m^2 from captured radiation (a third prong)."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _qcd_tau21(
    masses: np.ndarray, pts: np.ndarray, mjj: np.ndarray, model: BackgroundModel, rng: np.random.Generator
) -> np.ndarray:
    """tau21 of QCD jets of masses and pT (n, 2) in events of dijet mass ``mjj`` (n,), TeV."""
    w = model.tau_knee_width
    hinge = w * np.logaddexp(0.0, (np.log(masses / pts) - model.tau_knee) / w)
    noise = model.tau_sigma * rng.standard_normal(masses.shape)
    logit = model.tau_offset + model.tau_slope * hinge + model.tau_pt_slope * np.log(pts / 1.3) + noise
    logit += model.tau_mjj_slope * np.log(mjj / 3.0)[:, None]
    return 1.15 * _sigmoid(logit)


def _log_normal(median_sigma: tuple[float, float], n: int, rng: np.random.Generator) -> np.ndarray:
    return median_sigma[0] * np.exp(median_sigma[1] * rng.standard_normal(n))


def _jet_pair(
    p_star: np.ndarray,
    cos_t: np.ndarray,
    masses: np.ndarray,
    system_pt: np.ndarray,
    scale: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two jets back to back in the pair's rest frame (momentum ``p_star``, polar angle
    ``arccos(cos_t)`` to the beam, random azimuth), the pair boosted transversely to pT
    ``system_pt``, then each jet's four-momentum multiplied by ``scale`` (n, 2) (response,
    radiation). Returns jet pT (n, 2), jet masses (n, 2) and mjj (n,), TeV. A longitudinal boost
    of the pair changes none of these, so none is drawn."""
    n = len(p_star)
    sin_t = np.sqrt(np.maximum(1.0 - cos_t**2, 0.0))
    azimuth = rng.uniform(0.0, 2.0 * np.pi, n)
    sign = np.array([1.0, -1.0])
    px = (p_star * sin_t * np.cos(azimuth))[:, None] * sign
    py = (p_star * sin_t * np.sin(azimuth))[:, None] * sign
    pz = (p_star * cos_t)[:, None] * sign
    energy = np.sqrt(p_star[:, None] ** 2 + masses**2)
    m_pair = energy.sum(axis=1)
    gamma = (np.sqrt(m_pair**2 + system_pt**2) / m_pair)[:, None]
    gamma_beta = (system_pt / m_pair)[:, None]
    px, energy = gamma * px + gamma_beta * energy, gamma * energy + gamma_beta * px
    px, py, pz, energy = px * scale, py * scale, pz * scale, energy * scale
    mjj2 = energy.sum(axis=1) ** 2 - px.sum(axis=1) ** 2 - py.sum(axis=1) ** 2 - pz.sum(axis=1) ** 2
    return np.hypot(px, py), masses * scale, np.sqrt(np.maximum(mjj2, 0.0))


def _assemble(mjj: np.ndarray, masses: np.ndarray, pts: np.ndarray, taus: np.ndarray, label: int) -> pd.DataFrame:
    """Order the two jets by mass (j1 the lighter) and build the schema's columns."""
    light = np.argmin(masses, axis=1)
    heavy = 1 - light
    idx = np.arange(len(mjj))
    return pd.DataFrame(
        {
            "mjj": mjj,
            "mj1": masses[idx, light],
            "delta_m": masses[idx, heavy] - masses[idx, light],
            "tau21_j1": taus[idx, light],
            "tau21_j2": taus[idx, heavy],
            "mj2": masses[idx, heavy],
            "pt_j1": pts[idx, light],
            "pt_j2": pts[idx, heavy],
            LABEL: np.full(len(mjj), label, dtype=np.int8),
        }
    )


def _triggered(draw: Callable[[int], tuple[np.ndarray, ...]], n: int) -> tuple[np.ndarray, ...]:
    """``n`` events of ``draw(batch)`` (arrays whose second is the jets' pT (batch, 2)) with the
    leading jet above the trigger, by rejection."""
    parts: list[tuple[np.ndarray, ...]] = []
    need = n
    while need > 0:
        arrays = draw(max(2 * need, 1000))
        keep = arrays[1].max(axis=1) > TRIGGER_PT
        parts.append(tuple(a[keep] for a in arrays))
        need -= int(keep.sum())
    return tuple(np.concatenate(x)[:n] for x in zip(*parts))


def generate_background(n: int, rng: np.random.Generator, model: BackgroundModel = BackgroundModel()) -> pd.DataFrame:
    """``n`` QCD dijet events (all pass the trigger)."""

    def draw(batch: int) -> tuple[np.ndarray, ...]:
        pt_hat = model.pt_min * rng.random(batch) ** (-1.0 / (model.pt_power - 1.0))
        x_t = 2.0 * pt_hat / SQRT_S
        pdf = ((1.0 - np.minimum(x_t, 1.0)) / (1.0 - 2.0 * model.pt_min / SQRT_S)) ** model.pdf_power
        dy = np.abs(rng.normal(0.0, model.dy_scale, batch))
        boost = np.abs(rng.normal(0.0, model.boost_sigma, batch))
        accept = (rng.random(batch) < pdf) & (boost + dy / 2.0 < model.y_max)
        m_hat = 2.0 * pt_hat * np.cosh(dy / 2.0)
        log_rho = (
            model.log_rho_mean
            + model.mass_mjj_slope * np.log(m_hat / 3.0)[:, None]
            + model.log_rho_sigma * rng.standard_normal((batch, 2))
        )
        log_rho = np.minimum(log_rho, np.log(0.9))
        masses = pt_hat[:, None] * np.exp(log_rho)
        scale = 1.0 + model.response_sigma * rng.standard_normal((batch, 2))
        system_pt = _log_normal(model.isr_pt, batch, rng)
        pts, masses, mjj = _jet_pair(pt_hat * np.cosh(dy / 2.0), np.tanh(dy / 2.0), masses, system_pt, scale, rng)
        return mjj, np.where(accept[:, None], pts, 0.0), masses  # rejected: fails the trigger

    mjj, pts, masses = _triggered(draw, n)
    taus = _qcd_tau21(masses, pts, mjj, model, rng)
    return _assemble(mjj, masses, pts, taus, 0)


def generate_signal(
    n: int,
    rng: np.random.Generator,
    model: SignalModel = SignalModel(),
    background: BackgroundModel = BackgroundModel(),
) -> pd.DataFrame:
    """``n`` W' -> X Y events that pass the trigger."""
    resonance = np.array([model.m_x, model.m_y])

    def draw(batch: int) -> tuple[np.ndarray, ...]:
        m_w = model.m_wprime * (1.0 + model.width_wprime / 2.0 * np.tan(np.pi * (rng.random(batch) - 0.5)))
        m_w = np.clip(m_w, model.m_x + model.m_y + 0.05, 2.0 * model.m_wprime)
        arg = (m_w**2 - (model.m_x + model.m_y) ** 2) * (m_w**2 - (model.m_x - model.m_y) ** 2)
        p_star = np.sqrt(arg) / (2.0 * m_w)
        cos_t = rng.uniform(-1.0, 1.0, batch)
        # 1 + a cos^2 by rejection; the rejected events are dropped with the trigger's.
        accept = rng.random(batch) * (1.0 + max(model.decay_cos2, 0.0)) < 1.0 + model.decay_cos2 * cos_t**2
        pt_hat = (p_star * np.sqrt(1.0 - cos_t**2))[:, None]
        masses = resonance[None, :] * (1.0 + model.mass_resolution * rng.standard_normal((batch, 2)))
        masses = np.sqrt(masses**2 + rng.exponential(model.soft_mass**2, (batch, 2)))
        # Radiation caught in the cone: more mass and momentum, a third prong (higher tau21).
        caught = rng.random((batch, 2)) < model.captured
        u = np.exp(rng.uniform(*np.log(model.captured_u), (batch, 2))) * caught
        x = u / rng.uniform(*model.captured_angle, (batch, 2)) ** 2
        extra = u * pt_hat**2
        share = extra / (masses**2 + extra)
        masses = np.sqrt(masses**2 + extra)
        # A lost prong: the jet is the hard quark alone, with a QCD light-quark mass.
        lost = rng.random((batch, 2)) < np.asarray(model.lost_fraction)[None, :]
        z = rng.uniform(0.0, model.lost_z, (batch, 2))
        quark_rho = np.exp(background.log_rho_mean + background.log_rho_sigma * rng.standard_normal((batch, 2)))
        masses = np.where(lost, np.minimum(pt_hat * (1.0 - z) * quark_rho, masses), masses)
        scale = (
            (1.0 + model.response_sigma * rng.standard_normal((batch, 2)))
            * (1.0 - rng.exponential(model.out_of_cone, (batch, 2)).clip(max=0.5))
            * (1.0 + x)
            * np.where(lost, 1.0 - z, 1.0)
        )
        system_pt = _log_normal(model.isr_pt, batch, rng)
        pts, masses, mjj = _jet_pair(p_star, cos_t, masses, system_pt, scale, rng)
        pts = np.where(accept[:, None], pts, 0.0)  # fails the trigger
        return mjj, pts, masses, share, lost

    mjj, pts, masses, share, lost = _triggered(draw, n)
    taus = np.empty((n, 2))
    for j, (offset, sigma) in enumerate((model.tau_x, model.tau_y)):
        taus[:, j] = 1.15 * _sigmoid(offset + model.tau_captured * share[:, j] + sigma * rng.standard_normal(n))
    qcd_like = _qcd_tau21(masses, pts, mjj, background, rng)
    taus = np.where(lost, qcd_like, taus)
    return _assemble(mjj, masses, pts, taus, 1)


def chunk_rng(seed: int, process: str, chunk: int) -> np.random.Generator:
    """The random stream of one chunk of one process."""
    return np.random.default_rng(np.random.SeedSequence([seed, PROCESSES[process], chunk]))


def _chunk(
    process: str, n: int, seed: int, chunk: int, background: BackgroundModel, signal: SignalModel
) -> pd.DataFrame:
    rng = chunk_rng(seed, process, chunk)
    if process == "background":
        return generate_background(n, rng, background)
    return generate_signal(n, rng, signal, background)


def generate_events(
    n_background: int,
    n_signal: int,
    seed: int,
    *,
    signal: SignalModel = SignalModel(),
    background: BackgroundModel = BackgroundModel(),
    client: Any = None,
) -> pd.DataFrame:
    """``n_background`` QCD and ``n_signal`` W' events, background first, with ``label``.

    Columns: ``schema.COLUMNS``, :data:`EXTRA_COLUMNS` and ``label`` (TeV). The same
    ``seed`` gives the same events whether the chunks run here or on ``client``'s workers.
    """
    for name, value in (("n_background", n_background), ("n_signal", n_signal)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    tasks = []
    for process, total in (("background", n_background), ("signal", n_signal)):
        for k, start in enumerate(range(0, total, CHUNK_EVENTS)):
            tasks.append((process, min(CHUNK_EVENTS, total - start), seed, k, background, signal))
    frames = map_tasks(_chunk, tasks, client=client, description="LHCO events")
    columns = [*COLUMNS, *EXTRA_COLUMNS, LABEL]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=np.int8 if c == LABEL else np.float64) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


def generate_in_window(
    process: str,
    n: int,
    seed: int,
    window: tuple[float, float],
    *,
    signal: SignalModel = SignalModel(),
    background: BackgroundModel = BackgroundModel(),
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``n`` events of ``process`` with ``window[0] < mjj < window[1]`` (TeV), by rejection
    from successive chunks of the seeded stream; ``transform`` (e.g. a systematic shift) is
    applied before the cut."""
    frames, have, k = [], 0, 0
    while have < n:
        frame = _chunk(process, CHUNK_EVENTS, seed, k, background, signal)
        if transform is not None:
            frame = transform(frame)
        frame = frame[(frame["mjj"] > window[0]) & (frame["mjj"] < window[1])]
        frames.append(frame)
        have += len(frame)
        k += 1
        if k > 1000 and have == 0:
            raise ValueError(f"no {process} events fall in mjj window {window} TeV")
    return pd.concat(frames, ignore_index=True).iloc[:n].reset_index(drop=True)


def model_parameters(signal: SignalModel = SignalModel(), background: BackgroundModel = BackgroundModel()) -> dict:
    """The generator's parameters, for data-file sidecars."""
    return {"signal": asdict(signal), "background": asdict(background)}
