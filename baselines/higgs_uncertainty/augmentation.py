"""Training sets for systematics-aware classifiers: the nominal set, or copies of it shifted by
nuisance-parameter draws, each row tagged with the nuisance values that produced it.

The tags (``nu_tes``, ``nu_jes``, ``nu_soft_met``) are what a parameterised classifier takes as
extra inputs and what an adversary tries to predict; a plain classifier ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.systematics import NUISANCE_PRIORS, NuisanceParameters, systematics

SHAPE_NUISANCES: tuple[str, ...] = ("tes", "jes", "soft_met")
"""The nuisances that change event kinematics (the others only rescale whole processes)."""

NUISANCE_COLUMNS: tuple[str, ...] = tuple(f"nu_{name}" for name in SHAPE_NUISANCES)
SOURCE_EVENT = "source_event"
"""Column of an augmented set: the row of the unshifted event each copy comes from, so that a
held-out validation sample takes every copy of its events."""
NOMINAL_TAGS: dict[str, float] = {f"nu_{name}": NUISANCE_PRIORS[name].nominal for name in SHAPE_NUISANCES}


def nuisance_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Standardised nuisance tags of each row, shape (n_events, 3): (value - nominal) / prior width.

    Rows without tags (a pseudo-experiment) are taken at the nominal point.
    """
    columns = []
    for name in SHAPE_NUISANCES:
        prior = NUISANCE_PRIORS[name]
        column = f"nu_{name}"
        values = frame[column].to_numpy(np.float64) if column in frame.columns else np.full(len(frame), prior.nominal)
        columns.append((values - prior.nominal) / prior.scale)
    return np.stack(columns, axis=1)


def with_nuisance_tags(frame: pd.DataFrame, nuisances: NuisanceParameters) -> pd.DataFrame:
    """``frame`` with the nuisance tag columns set to ``nuisances``' shape parameters."""
    return frame.assign(**{f"nu_{name}": getattr(nuisances, name) for name in SHAPE_NUISANCES})


@dataclass(frozen=True)
class NuisanceAugmentation:
    """Build a classifier's training set from a weighted event set.

    Parameters
    ----------
    n_draws:
        Number of shifted copies; 0 gives the nominal set alone.
    spread:
        Factor on the prior widths of the energy scales: a parameterised classifier or an
        adversary needs to see shifts larger than the typical ones to learn their effect.
    include_nominal:
        Add the nominal set as one more copy.
    seed:
        Seed of the draws and of the soft-MET smearing.
    """

    n_draws: int = 0
    spread: float = 1.0
    include_nominal: bool = True
    seed: int = 0

    def draws(self) -> list[NuisanceParameters]:
        rng = np.random.default_rng(self.seed)
        out = [NuisanceParameters()] if self.include_nominal or self.n_draws == 0 else []
        for _ in range(self.n_draws):
            values = {}
            for name in SHAPE_NUISANCES:
                prior = NUISANCE_PRIORS[name]
                if prior.kind == "normal":
                    value = rng.normal(prior.loc, prior.scale * self.spread)
                else:
                    value = rng.lognormal(prior.loc, prior.scale)
                values[name] = float(np.clip(value, prior.low, prior.high))
            out.append(NuisanceParameters(**values))
        return out

    def build(self, events: pd.DataFrame) -> pd.DataFrame:
        """Concatenated shifted copies of ``events`` (selection and derived features redone),
        tagged with their nuisance values and their ``source_event``; weights divided by the
        number of copies so the set keeps the expected yields."""
        draws = self.draws()
        events = events.assign(**{SOURCE_EVENT: np.arange(len(events))})
        # Column by column, each copy's column freed once joined: pd.concat of the whole copies
        # holds them and the result at once, twice the set (46 million rows, 7.7 GB, for the
        # parameterised network at `full-x4`: 15 GB at the join, docs/benchmarks.md).
        parts: dict[str, list[pd.Series]] = {}
        for k, nuisances in enumerate(draws):
            shifted = with_nuisance_tags(systematics(events, nuisances, seed=self.seed + 7919 * k), nuisances)
            for column in shifted.columns:
                parts.setdefault(column, []).append(shifted[column].copy())
            del shifted
        columns = {}
        for column in list(parts):
            columns[column] = pd.concat(parts.pop(column), ignore_index=True)
        out = pd.DataFrame(columns, copy=False)
        if "weights" in out.columns:
            out["weights"] = out["weights"].to_numpy() / len(draws)
        return out
