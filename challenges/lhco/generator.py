"""Fast generator of LHC Olympics R&D-like dijet events (SPEC section 2), vectorised.

Background (QCD dijets): the leading jet's pT follows a power law above the 1.2 TeV trigger,
the subleading jet balances it up to a radiative imbalance, and the jets' rapidity difference
is drawn from a falling distribution; mjj is the invariant mass of the two massive jets, so
its falling spectrum and the turn-on near 2.5 TeV follow from the trigger. Jet masses are
log-normal in m / pT (with a mild rise with mjj), and tau21 falls with m / pT.

Signal W' -> X(qq) Y(qq): an isotropic two-body decay of a W' (Breit-Wigner) into X and Y;
the jets' pT follows from the decay angle (events below the trigger are regenerated). The
jet masses are the resonance masses smeared by the jet resolution, with a fraction of jets
that lose a decay product (lower mass, QCD-like tau21); two-prong jets have low tau21. The
reconstructed mjj gets a resolution core and a low tail (final-state radiation out of the
jets).

The shape parameters were tuned against the public high-level features of the real R&D set
(``validation.distance_table`` gives the distances; docs/lhco.md the numbers).

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

GENERATOR_VERSION = "1.0.0"
CHUNK_EVENTS = 100_000
TRIGGER_PT = 1.2
"""Leading-jet pT threshold (TeV) of the R&D set."""
EXTRA_COLUMNS: tuple[str, ...] = ("mj2", "pt_j1", "pt_j2")
PROCESSES: dict[str, int] = {"background": 0, "signal": 1}


@dataclass(frozen=True)
class BackgroundModel:
    """Shape parameters of the QCD dijet background (TeV)."""

    pt_power: float = 8.394
    """Leading-jet pT density ~ pT^-pt_power above the trigger."""
    imbalance: float = 0.0163
    """Mean relative pT imbalance of the subleading jet (exponential)."""
    hard_radiation_fraction: float = 0.0668
    """Fraction of events with a hard third jet: the imbalance then has mean ``hard_radiation_scale``."""
    hard_radiation_scale: float = 0.293
    dy_scale: float = 1.033
    """Scale of |y1 - y2| (half-normal)."""
    log_rho_mean: float = -2.161
    """Mean of ln(m / pT) of a jet."""
    log_rho_sigma: float = 0.721
    mass_mjj_slope: float = -0.3
    """d ln m / d ln(mjj / 3 TeV) at fixed pT. Set (not fitted) so that the rank correlations of
    the jet masses with mjj match the real ones (0.11 and 0.19): through pT the masses still
    rise with mjj."""
    tau_offset: float = 0.036
    """tau21 = 1.15 sigmoid(tau_offset + tau_slope ln(rho / 0.1) + tau_sigma z)."""
    tau_slope: float = -0.568
    tau_sigma: float = 0.828


@dataclass(frozen=True)
class SignalModel:
    """W' -> X(qq) Y(qq) with masses in TeV."""

    m_wprime: float = 3.5
    m_x: float = 0.5
    m_y: float = 0.1
    width_wprime: float = 0.01
    """Relative natural width of the W' (Breit-Wigner Gamma / M)."""
    mjj_resolution: float = 0.038
    """Relative Gaussian resolution of mjj."""
    mjj_tail_fraction: float = 0.02
    mjj_tail_scale: float = 0.10
    """Relative scale of the low mjj tail (exponential) in a fraction of events."""
    mass_resolution: float = 0.06
    """Relative resolution of the X and Y jet masses."""
    mass_extra: float = 0.065
    """Scale (TeV, exponential) of radiation caught in the jet: m = sqrt(m_res^2 + e^2)."""
    lost_energy: float = 0.15
    """Relative mjj loss per unit of jet-mass fraction lost with a prong."""
    lost_fraction: tuple[float, float] = (0.12, 0.02)
    """Fraction of X and Y jets that lose a decay product (mass reduced, QCD-like tau21):
    the wider X -> qq (dR ~ 2 m / pT) escapes the R = 1.0 jet more often."""
    tau_x: tuple[float, float] = (-1.65, 0.8)
    """(offset, sigma) of the logistic tau21 of the X jet (see ``BackgroundModel``)."""
    tau_y: tuple[float, float] = (-0.71, 0.72)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _tau21(log_rho: np.ndarray, offset: float, slope: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return 1.15 * _sigmoid(offset + slope * (log_rho - np.log(0.1)) + sigma * rng.standard_normal(log_rho.size))


def _dijet_mass(pt1: np.ndarray, pt2: np.ndarray, m1: np.ndarray, m2: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Invariant mass of two back-to-back jets (TeV) with rapidity difference ``dy``."""
    mt1, mt2 = np.sqrt(pt1**2 + m1**2), np.sqrt(pt2**2 + m2**2)
    return np.sqrt(m1**2 + m2**2 + 2.0 * (mt1 * mt2 * np.cosh(dy) + pt1 * pt2))


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


def generate_background(n: int, rng: np.random.Generator, model: BackgroundModel = BackgroundModel()) -> pd.DataFrame:
    """``n`` QCD dijet events (all pass the trigger)."""
    pt_lead = TRIGGER_PT * rng.random(n) ** (-1.0 / (model.pt_power - 1.0))
    hard = rng.random(n) < model.hard_radiation_fraction
    imbalance = rng.exponential(1.0, n) * np.where(hard, model.hard_radiation_scale, model.imbalance)
    pt_sub = pt_lead * np.maximum(1.0 - imbalance, 0.3)
    dy = np.abs(rng.normal(0.0, model.dy_scale, n))
    pts = np.stack([pt_lead, pt_sub], axis=1)
    # Jet masses at the massless mjj, then mjj with the masses.
    mjj0 = _dijet_mass(pt_lead, pt_sub, 0.0, 0.0, dy)
    log_rho = (
        model.log_rho_mean
        + model.mass_mjj_slope * np.log(mjj0 / 3.0)[:, None]
        + model.log_rho_sigma * rng.standard_normal((n, 2))
    )
    log_rho = np.minimum(log_rho, np.log(0.9))
    masses = pts * np.exp(log_rho)
    taus = _tau21(log_rho.ravel(), model.tau_offset, model.tau_slope, model.tau_sigma, rng).reshape(n, 2)
    mjj = _dijet_mass(pt_lead, pt_sub, masses[:, 0], masses[:, 1], dy)
    return _assemble(mjj, masses, pts, taus, 0)


def generate_signal(
    n: int,
    rng: np.random.Generator,
    model: SignalModel = SignalModel(),
    background: BackgroundModel = BackgroundModel(),
) -> pd.DataFrame:
    """``n`` W' -> X Y events that pass the trigger."""
    parts = []
    need = n
    while need > 0:
        batch = max(2 * need, 1000)
        m_w = model.m_wprime * (1.0 + model.width_wprime / 2.0 * np.tan(np.pi * (rng.random(batch) - 0.5)))
        m_w = np.clip(m_w, model.m_x + model.m_y + 0.05, 2.0 * model.m_wprime)
        arg = (m_w**2 - (model.m_x + model.m_y) ** 2) * (m_w**2 - (model.m_x - model.m_y) ** 2)
        p_star = np.sqrt(arg) / (2.0 * m_w)
        cos_t = rng.uniform(-1.0, 1.0, batch)
        pt = p_star * np.sqrt(1.0 - cos_t**2)
        keep = pt > TRIGGER_PT
        parts.append((m_w[keep], pt[keep]))
        need -= int(keep.sum())
    m_w, pt = (np.concatenate(x)[:n] for x in zip(*parts))
    resonance = np.array([model.m_x, model.m_y])
    masses = resonance[None, :] * (1.0 + model.mass_resolution * rng.standard_normal((n, 2)))
    masses = np.sqrt(masses**2 + rng.exponential(model.mass_extra, (n, 2)) ** 2)
    lost = rng.random((n, 2)) < np.asarray(model.lost_fraction)[None, :]
    kept = rng.uniform(0.1, 0.8, (n, 2))
    # Reconstructed mjj: resolution core and a low tail from radiation outside the jets. That
    # radiation lowers the jet masses with mjj, and a lost prong takes its energy out of mjj
    # too: both make the signal's jet masses rise with mjj, as in the real R&D signal.
    tail = np.where(rng.random(n) < model.mjj_tail_fraction, rng.exponential(model.mjj_tail_scale, n), 0.0)
    tail = np.minimum(tail + model.lost_energy * (lost * (1.0 - kept)).sum(axis=1), 0.9)
    mjj = m_w * (1.0 + model.mjj_resolution * rng.standard_normal(n)) * (1.0 - tail)
    masses = np.where(lost, masses * kept, masses) * (1.0 - tail[:, None])
    recoil = np.maximum(1.0 - rng.exponential(background.imbalance / 2.0, n), 0.5)
    pts = np.stack([pt, pt * recoil], axis=1)
    taus = np.empty((n, 2))
    for j, (offset, sigma) in enumerate((model.tau_x, model.tau_y)):
        taus[:, j] = 1.15 * _sigmoid(offset + sigma * rng.standard_normal(n))
    log_rho = np.log(masses / pts)
    qcd_like = _tau21(log_rho.ravel(), background.tau_offset, background.tau_slope, background.tau_sigma, rng)
    taus = np.where(lost, qcd_like.reshape(n, 2), taus)
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
