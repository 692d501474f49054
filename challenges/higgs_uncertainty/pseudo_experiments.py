"""Poisson pseudo-experiments and the test plans built from them (SPEC 1).

A pseudo-experiment draws an integer count ~ Poisson(norm * weight) for every event of a
weighted test set, repeats each row that many times, shuffles, drops the truth, and applies the
kinematic systematics and cuts. A test plan fixes, for every (set, pseudo-experiment), the seed,
the true signal strength and the nuisance draws, so any single pseudo-experiment can be replayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import FEATURES, PROCESSES
from .systematics import NuisanceParameters, systematics

MU_RANGE: tuple[float, float] = (0.1, 3.0)
"""Range of the uniform prior of the true signal strength."""


class PseudoExperimentSampler:
    """Draws pseudo-experiments from one weighted test set.

    The test set is indexed once (process of each row, features as a frame), so each draw costs
    only the Poisson counts, the row gather and the systematics of the drawn events.

    Parameters
    ----------
    test_set:
        Weighted events: ``FEATURES`` + ``weights`` + ``detailed_labels`` (+ ``labels``); the
        weights are the expected number of events each row stands for.
    """

    def __init__(self, test_set: pd.DataFrame) -> None:
        missing = [c for c in (*FEATURES, "weights", "detailed_labels") if c not in test_set.columns]
        if missing:
            raise ValueError(f"test set lacks column(s) {missing}")
        codes = pd.Categorical(test_set["detailed_labels"], categories=PROCESSES).codes
        if np.any(codes < 0):
            unknown = sorted(set(test_set["detailed_labels"][codes < 0]))
            raise ValueError(f"test set has unknown detailed_labels {unknown}")
        self._codes = codes
        self._weights = test_set["weights"].to_numpy(np.float64)
        truth = ["detailed_labels", "labels"] if "labels" in test_set.columns else ["detailed_labels"]
        self._events = test_set[[*FEATURES, *truth]].reset_index(drop=True)

    def draw(self, mu: float, nuisances: NuisanceParameters, seed: int, *, with_truth: bool = False) -> pd.DataFrame:
        """One pseudo-experiment: unweighted, shuffled events with the 28 features.

        ``mu`` scales the htautau weights; the normalisation nuisances scale the Poisson means
        and the kinematic ones shift the drawn events; ``seed`` fixes the Poisson draw, the
        shuffle and the soft-MET smearing. ``with_truth`` keeps ``detailed_labels`` and
        ``labels`` for diagnostics (never for a submission).
        """
        rng = np.random.default_rng(seed)
        means = self._weights * nuisances.process_norm_array(mu)[self._codes]
        rows = np.repeat(np.arange(len(means)), rng.poisson(means))
        rng.shuffle(rows)
        keep = list(FEATURES) + ([c for c in ("detailed_labels", "labels") if c in self._events] if with_truth else [])
        events = self._events[keep].iloc[rows].reset_index(drop=True)
        soft_seed = int(rng.integers(0, 2**63 - 1))
        return systematics(events, nuisances, seed=soft_seed).reset_index(drop=True)


def pseudo_experiment(
    test_set: pd.DataFrame, mu: float, nuisances: NuisanceParameters, seed: int, *, with_truth: bool = False
) -> pd.DataFrame:
    """Draw one pseudo-experiment from a weighted test set (see ``PseudoExperimentSampler.draw``)."""
    return PseudoExperimentSampler(test_set).draw(mu, nuisances, seed, with_truth=with_truth)


@dataclass(frozen=True)
class TestPlan:
    """Sets x pseudo-experiments, each with its seed, true mu and nuisance draws.

    ``table`` has one row per pseudo-experiment: ``set_index``, ``pe_index``, ``seed``,
    ``mu_true`` and the six nuisance values. The per-pseudo-experiment seed follows the anchor:
    ``set_index * n_pseudo_experiments + pe_index + initial_seed``.
    """

    n_sets: int
    n_pseudo_experiments: int
    initial_seed: int
    active_systematics: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)

    __test__ = False  # not a pytest test class

    def __len__(self) -> int:
        return len(self.table)

    def row(self, set_index: int, pe_index: int) -> pd.Series:
        if not (0 <= set_index < self.n_sets and 0 <= pe_index < self.n_pseudo_experiments):
            raise IndexError(
                f"pseudo-experiment ({set_index}, {pe_index}) outside the plan "
                f"({self.n_sets} sets x {self.n_pseudo_experiments})"
            )
        return self.table.iloc[set_index * self.n_pseudo_experiments + pe_index]

    def nuisances(self, set_index: int, pe_index: int) -> NuisanceParameters:
        r = self.row(set_index, pe_index)
        return NuisanceParameters(**{k: float(r[k]) for k in NuisanceParameters.names()})

    def draw(
        self, source: pd.DataFrame | PseudoExperimentSampler, set_index: int, pe_index: int, *, with_truth: bool = False
    ) -> pd.DataFrame:
        """Replay one pseudo-experiment of the plan from a test set (or its prepared sampler)."""
        sampler = source if isinstance(source, PseudoExperimentSampler) else PseudoExperimentSampler(source)
        r = self.row(set_index, pe_index)
        return sampler.draw(
            float(r["mu_true"]), self.nuisances(set_index, pe_index), int(r["seed"]), with_truth=with_truth
        )

    def to_json(self, path: str | Path) -> None:
        payload = {
            "n_sets": self.n_sets,
            "n_pseudo_experiments": self.n_pseudo_experiments,
            "initial_seed": self.initial_seed,
            "active_systematics": list(self.active_systematics),
            "pseudo_experiments": self.table.to_dict(orient="records"),
        }
        Path(path).write_text(json.dumps(payload, indent=1))

    @classmethod
    def from_json(cls, path: str | Path) -> TestPlan:
        payload = json.loads(Path(path).read_text())
        table = pd.DataFrame(payload["pseudo_experiments"])
        return cls(
            payload["n_sets"],
            payload["n_pseudo_experiments"],
            payload["initial_seed"],
            tuple(payload["active_systematics"]),
            table,
        )


def make_test_plan(
    n_sets: int,
    n_pseudo_experiments: int,
    initial_seed: int = 0,
    active_systematics: tuple[str, ...] | None = None,
    mu_range: tuple[float, float] = MU_RANGE,
) -> TestPlan:
    """Build a test plan: mu_true ~ U(mu_range) per set, nuisances drawn per pseudo-experiment.

    The set's mu_true comes from a stream seeded by ``initial_seed``; each pseudo-experiment's
    nuisances from a stream seeded by its own logged seed, so one row can be replayed alone.
    """
    if n_sets < 1 or n_pseudo_experiments < 1:
        raise ValueError("a test plan needs at least one set and one pseudo-experiment")
    active = NuisanceParameters.names() if active_systematics is None else tuple(active_systematics)
    mu_rng = np.random.default_rng([initial_seed, 0x6D75])  # 'mu': a stream apart from the PE seeds
    mus = mu_rng.uniform(*mu_range, size=n_sets)
    rows = []
    for s in range(n_sets):
        for p in range(n_pseudo_experiments):
            seed = s * n_pseudo_experiments + p + initial_seed
            nuis = NuisanceParameters.sample(np.random.default_rng([seed, 0x6E75]), active)
            rows.append({"set_index": s, "pe_index": p, "seed": seed, "mu_true": float(mus[s]), **nuis.as_dict()})
    return TestPlan(n_sets, n_pseudo_experiments, initial_seed, active, pd.DataFrame(rows))
