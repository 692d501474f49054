"""A small, seeded toy of the LHCO R&D events for tests and quick method comparisons.

Not the challenge's data generator: a few lines of closed-form distributions with the features
of ``schema.COLUMNS`` (TeV) and the structure the anomaly detectors rely on.

* Background (QCD dijets): mjj falls exponentially above 2.6 TeV; the lighter jet mass, the
  mass difference and the N-subjettiness ratios are broad and drift smoothly with mjj, so a
  method that ignores the mjj dependence pays for it.
* Signal (W' -> X Y, m_W' = 3.5 TeV): a narrow mjj peak at 3.5 TeV, m_j1 ~ 0.1 TeV (Y),
  delta_m ~ 0.4 TeV (X - Y), two-prong jets (low tau21).

``mass_shift`` > 0 adds ``mass_shift * mjj`` to m_j1 and delta_m of every event, the CATHODE
paper's test of strongly mjj-correlated features (0.1 there), where CWoLa hunting fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import COLUMNS, LABEL


def toy_background(n: int, rng: np.random.Generator) -> pd.DataFrame:
    mjj = 2.6 + rng.exponential(0.55, n)
    drift = mjj / 3.5  # features scale gently with the dijet mass
    mj1 = 0.02 + rng.gamma(2.0, 0.05 * drift)
    delta_m = rng.gamma(2.0, 0.09 * drift)
    tau21_j1 = rng.beta(5.0, 3.0 - 0.3 * (drift - 1.0))
    tau21_j2 = rng.beta(4.5, 3.0 - 0.3 * (drift - 1.0))
    return pd.DataFrame(dict(zip(COLUMNS, (mjj, mj1, delta_m, tau21_j1, tau21_j2))))


def toy_signal(n: int, rng: np.random.Generator) -> pd.DataFrame:
    mjj = rng.normal(3.5, 0.1, n)
    mj1 = rng.normal(0.1, 0.015, n)
    delta_m = rng.normal(0.4, 0.05, n)
    tau21_j1 = rng.beta(4.0, 6.0, n)
    tau21_j2 = rng.beta(4.0, 6.0, n)
    return pd.DataFrame(dict(zip(COLUMNS, (mjj, mj1, delta_m, tau21_j1, tau21_j2))))


def toy_events(n_background: int, n_signal: int, seed: int, mass_shift: float = 0.0) -> pd.DataFrame:
    """Shuffled background and signal events with ``label`` (1 signal); same seed, same events.

    ``mass_shift``: m_j1 and delta_m of every event get ``mass_shift * mjj`` added (TeV).
    """
    if n_background < 0 or n_signal < 0:
        raise ValueError(f"event counts must be >= 0, got n_background={n_background}, n_signal={n_signal}")
    rng = np.random.default_rng(seed)
    frames = [toy_background(n_background, rng).assign(**{LABEL: 0}), toy_signal(n_signal, rng).assign(**{LABEL: 1})]
    events = pd.concat(frames, ignore_index=True)
    if mass_shift:
        events["mj1"] += mass_shift * events["mjj"]
        events["delta_m"] += mass_shift * events["mjj"]
    return events.iloc[rng.permutation(len(events))].reset_index(drop=True)
