"""Every baseline method, by challenge, with its configuration per size.

``size`` is ``tiny`` (tests), ``small`` (demo) or ``full`` (the anchor's recipe); a factory
returns an unfitted estimator with the challenge's fit / predict interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..challenges.higgs_uncertainty.schema import FEATURES
from .bdt import BDTClassifier
from .signal_strength import SignalStrengthEstimator
from .template_fit import BinnedTemplateFit


@dataclass(frozen=True)
class Baseline:
    name: str
    challenge: str
    description: str
    factory: Callable[[str, str, int], Any]
    """(size, device, seed) -> unfitted estimator."""


_BDT_SIZES = {
    "tiny": {"n_estimators": 60, "max_depth": 4},
    "small": {"n_estimators": 200, "max_depth": 5},
    "full": {"n_estimators": 500, "max_depth": 6},
}


def _bdt_template_fit(size: str, device: str, seed: int) -> SignalStrengthEstimator:
    return SignalStrengthEstimator(
        classifier=BDTClassifier(FEATURES, device=device, seed=seed, **_BDT_SIZES[size]),
        inference=BinnedTemplateFit(n_bins=10, seed=seed),
        # The templates' simulation statistics limit the fit in the signal-like bins; the
        # classifier saturates with fewer events, so most of the training set builds templates.
        classifier_fraction=0.3,
        seed=seed,
    )


BASELINES: dict[str, dict[str, Baseline]] = {
    "higgs-uncertainty": {
        "bdt-template-fit": Baseline(
            "bdt-template-fit",
            "higgs-uncertainty",
            "xgboost BDT score in 10 bins; per-bin polynomial response in TES, JES and soft MET; "
            "Poisson likelihood with constraints on all six nuisances; MINOS interval",
            _bdt_template_fit,
        ),
    },
}


def get_baseline(challenge: str, name: str) -> Baseline:
    methods = BASELINES.get(challenge)
    if methods is None:
        raise ValueError(f"no baselines for challenge {challenge!r}; known: {sorted(BASELINES)}")
    if name not in methods:
        raise ValueError(f"unknown baseline {name!r} for {challenge}; known: {sorted(methods)}")
    return methods[name]
