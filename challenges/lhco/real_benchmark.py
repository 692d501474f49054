"""A benchmark data set made of real R&D events: the public high-level subset, split the way
the generated presets are (data with injected signal, background reference, labelled set,
signal-region test set).

The subset holds 90,941 QCD and 9,059 W' events. Only events whose two jets have correct
N-subjettiness (``tau_valid_j1`` and ``tau_valid_j2``, see ``real_data.load_highlevel_subset``)
are used; phi does not depend on the jet substructure, so they are an unbiased sample.
Background events are divided 40% data, 20% background reference, 10% labelled, 30% test;
signal is injected into the data so that S/B in the signal region is ``s_over_b``, and the
remaining signal is shared between the labelled and the test sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import LhcoDataset
from .protocol import AnomalyInputs
from .schema import COLUMNS, LABEL, MJJ, SIGNAL_REGION

BACKGROUND_SHARES: dict[str, float] = {"data": 0.4, "background_reference": 0.2, "labelled": 0.1, "test": 0.3}
S_OVER_B = 0.006
"""Signal-to-background ratio in the signal region of the anchor's benchmark (1000 signal events)."""


def real_subset_dataset(subset: pd.DataFrame, seed: int, s_over_b: float = S_OVER_B) -> LhcoDataset:
    """Split the high-level subset (``load_highlevel_subset``) into a benchmark data set.

    ``seed`` fixes the shuffles; ``s_over_b`` is the injected S/B in the signal region.
    """
    needed = [*COLUMNS, LABEL, "tau_valid_j1", "tau_valid_j2"]
    missing = [c for c in needed if c not in subset.columns]
    if missing:
        raise ValueError(f"high-level subset lacks column(s) {missing}")
    if not 0 < s_over_b < 1:
        raise ValueError(f"s_over_b must be in (0, 1), got {s_over_b}")
    valid = subset[subset["tau_valid_j1"].astype(bool) & subset["tau_valid_j2"].astype(bool)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2020]))
    background = valid[valid[LABEL] == 0].sample(frac=1.0, random_state=rng)[[*COLUMNS, LABEL]]
    signal = valid[valid[LABEL] == 1].sample(frac=1.0, random_state=rng)[[*COLUMNS, LABEL]]

    bounds = np.cumsum([0.0, *BACKGROUND_SHARES.values()]) * len(background)
    parts = {
        name: background.iloc[int(lo) : int(hi)] for name, lo, hi in zip(BACKGROUND_SHARES, bounds[:-1], bounds[1:])
    }

    def in_sr(frame: pd.DataFrame) -> pd.Series:
        return frame[MJJ].between(*SIGNAL_REGION, inclusive="neither")

    signal_sr_fraction = float(in_sr(signal).mean())
    n_inject = int(round(s_over_b * in_sr(parts["data"]).sum() / signal_sr_fraction))
    if n_inject >= len(signal) // 2:
        raise ValueError(f"S/B {s_over_b} needs {n_inject} signal events; the subset has {len(signal)}")
    injected, rest = signal.iloc[:n_inject], signal.iloc[n_inject:]
    half = len(rest) // 2
    data = pd.concat([parts["data"], injected]).sample(frac=1.0, random_state=rng).reset_index(drop=True)
    labelled = (
        pd.concat([parts["labelled"], rest.iloc[:half]]).sample(frac=1.0, random_state=rng).reset_index(drop=True)
    )
    test = pd.concat([parts["test"], rest.iloc[half:]])
    test = test[in_sr(test)].reset_index(drop=True)
    inputs = AnomalyInputs(
        data=data[list(COLUMNS)],
        background_reference=parts["background_reference"][list(COLUMNS)].reset_index(drop=True),
        labelled=labelled,
    )
    return LhcoDataset(inputs, data[LABEL], test, "real-subset", seed, n_inject)
