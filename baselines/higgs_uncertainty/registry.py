"""HiggsML Uncertainty baselines: every pairing of a classifier (how events are scored, and on
which training set) with an inference method (how mu and its interval come out of the scores),
named ``<classifier>-<inference>``, e.g. ``nn-deep-all-template-fit``.

``size`` is ``tiny`` (tests), ``small`` (demo) or ``full`` (the anchor's recipe); a factory
returns an unfitted :class:`~.signal_strength.SignalStrengthEstimator`. The method modules
(torch, xgboost, iminuit) are imported when a factory is called, so listing stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...challenges.higgs_uncertainty.schema import FEATURES, PRIMARY_FEATURES
from ..base import Baseline, Param, SearchSpace, size_config, with_overrides

_BDT_SIZES = {
    "tiny": {"n_estimators": 60, "max_depth": 4},
    "small": {"n_estimators": 200, "max_depth": 5},
    "full": {"n_estimators": 500, "max_depth": 6},
}
_NN_SIZES = {
    "tiny": {"shallow": (16,), "deep": (32, 32, 32), "epochs": 3, "batch_size": 1024},
    "small": {"shallow": (64,), "deep": (128, 128, 128), "epochs": 10, "batch_size": 4096},
    "full": {"shallow": (256,), "deep": (256, 256, 256, 256), "epochs": 30, "batch_size": 4096},
}
# Shifted copies of the classifier's training events (systematics-aware training).
_AUGMENT_DRAWS = {"tiny": 2, "small": 4, "full": 8}
# A network trained on the copies sees each event once per copy and epoch (270 times at `full`)
# and memorises them: it holds out 10% of the events, with all their copies, and keeps its
# epoch of lowest loss on them (docs/results.md, "Why the parameterised network separated worse at 10 fb^-1");
# the adversarial network by its objective there, its loss minus the weighted adversary's.
_HELD_OUT = {"validation_fraction": 0.1, "patience": 5}
LOW_LEVEL = PRIMARY_FEATURES
LOW_AND_HIGH_LEVEL = FEATURES


def _no_augmentation(size: str, seed: int) -> Any:
    return None


BDT_SEARCH_SPACE: dict[str, Param] = {
    "n_estimators": Param("int", 50, 800, log=True),
    "max_depth": Param("int", 2, 8),
    "learning_rate": Param("float", 0.01, 0.5, log=True),
    "subsample": Param("float", 0.5, 1.0),
}
NN_SEARCH_SPACE: dict[str, Param] = {
    "learning_rate": Param("float", 1e-4, 1e-2, log=True),
    "width": Param("int", 16, 512, log=True),
    "depth": Param("int", 1, 5),
    "batch_size": Param("categorical", choices=(512, 1024, 2048, 4096)),
}
TEMPLATE_FIT_SEARCH_SPACE: dict[str, Param] = {"n_bins": Param("int", 4, 30)}
"""Score bins of the template fit: more bins separate signal better but each template holds fewer
simulated events (the bias / variance trade-off gradient descent cannot tune)."""


@dataclass(frozen=True)
class ClassifierRecipe:
    name: str
    description: str
    make: Callable[..., Any]
    """(size, device, seed, **params) -> unfitted classifier."""
    augmentation: Callable[[str, int], Any] = field(default=_no_augmentation)
    """(size, seed) -> a NuisanceAugmentation, or None."""
    search_space: SearchSpace = field(default_factory=dict)
    """Hyperparameters ``make`` accepts as overrides (``hepbench baseline tune``)."""


def _bdt(size: str, device: str, seed: int, **params: Any) -> Any:
    from .bdt import BDTClassifier

    return BDTClassifier(FEATURES, device=device, seed=seed, **with_overrides(size_config(_BDT_SIZES, size), params))


def _nn(depth: str, features: tuple[str, ...], **options: Any) -> Callable[..., Any]:
    def make(size: str, device: str, seed: int, **params: Any) -> Any:
        from .neural_net import NeuralNetClassifier

        cfg = size_config(_NN_SIZES, size)
        defaults = {"hidden": cfg[depth], "epochs": cfg["epochs"], "batch_size": cfg["batch_size"]}
        return NeuralNetClassifier(features, device=device, seed=seed, **with_overrides(defaults, params), **options)

    return make


def _augmented(spread: float) -> Callable[[str, int], Any]:
    def make(size: str, seed: int) -> Any:
        from .augmentation import NuisanceAugmentation

        return NuisanceAugmentation(n_draws=size_config(_AUGMENT_DRAWS, size), spread=spread, seed=seed)

    return make


CLASSIFIERS: dict[str, ClassifierRecipe] = {
    r.name: r
    for r in (
        ClassifierRecipe("bdt", "xgboost BDT on all 28 features", _bdt, search_space=BDT_SEARCH_SPACE),
        ClassifierRecipe(
            "nn-shallow-low",
            "1-hidden-layer NN on the 16 PRI_* features",
            _nn("shallow", LOW_LEVEL),
            search_space=NN_SEARCH_SPACE,
        ),
        ClassifierRecipe(
            "nn-shallow-all",
            "1-hidden-layer NN on PRI_* + DER_* features",
            _nn("shallow", LOW_AND_HIGH_LEVEL),
            search_space=NN_SEARCH_SPACE,
        ),
        ClassifierRecipe(
            "nn-deep-low",
            "deep NN (3+ hidden layers) on the 16 PRI_* features",
            _nn("deep", LOW_LEVEL),
            search_space=NN_SEARCH_SPACE,
        ),
        ClassifierRecipe(
            "nn-deep-all",
            "deep NN on PRI_* + DER_* features",
            _nn("deep", LOW_AND_HIGH_LEVEL),
            search_space=NN_SEARCH_SPACE,
        ),
        ClassifierRecipe(
            "nn-focal", "deep NN, all features, focal loss (gamma 2)", _nn("deep", LOW_AND_HIGH_LEVEL, focal_gamma=2.0)
        ),
        ClassifierRecipe(
            "nn-fgsm",
            "deep NN, all features, FGSM adversarial examples (eps 0.01)",
            _nn("deep", LOW_AND_HIGH_LEVEL, fgsm_epsilon=0.01),
        ),
        ClassifierRecipe(
            "bdt-augmented",
            "BDT trained on copies shifted by nuisance draws (data augmentation)",
            _bdt,
            _augmented(1.0),
            BDT_SEARCH_SPACE,
        ),
        ClassifierRecipe(
            "nn-augmented",
            "deep NN trained on copies shifted by nuisance draws (data augmentation), early stop on held-out events",
            _nn("deep", LOW_AND_HIGH_LEVEL, **_HELD_OUT),
            _augmented(1.0),
        ),
        ClassifierRecipe(
            "nn-parameterised",
            "deep NN with TES, JES and soft MET as extra inputs, trained over nuisance draws (3x the prior width), "
            "early stop on held-out events",
            _nn("deep", LOW_AND_HIGH_LEVEL, nuisance_inputs=True, **_HELD_OUT),
            _augmented(3.0),
        ),
        ClassifierRecipe(
            "nn-adversarial",
            "deep NN decorrelated from TES, JES and soft MET by an adversary, "
            "trained over nuisance draws (3x the prior width), early stop on held-out events",
            _nn("deep", LOW_AND_HIGH_LEVEL, adversary_weight=1.0, **_HELD_OUT),
            _augmented(3.0),
        ),
    )
}


@dataclass(frozen=True)
class InferenceRecipe:
    name: str
    description: str
    make: Callable[..., Any]
    """(seed, **params) -> unfitted inference."""
    classifier_fraction: float
    search_space: SearchSpace = field(default_factory=dict)


def _template_fit(seed: int, n_bins: int = 10) -> Any:
    from .template_fit import BinnedTemplateFit

    return BinnedTemplateFit(n_bins=n_bins, seed=seed)


def _counting(seed: int) -> Any:
    from .counting import CountingExperiment

    return CountingExperiment(seed=seed)


def _likelihood_ratio(seed: int) -> Any:
    from .likelihood_ratio import LikelihoodRatioFit

    return LikelihoodRatioFit(seed=seed)


INFERENCES: dict[str, InferenceRecipe] = {
    r.name: r
    for r in (
        # The templates' simulation statistics limit the binned fit in the signal-like bins; the
        # classifier saturates with fewer events, so most of the training set builds templates.
        InferenceRecipe(
            "template-fit",
            "score in 10 bins, per-bin quadratic response in TES / JES / soft MET, "
            "six constrained nuisances, MINOS interval",
            _template_fit,
            0.3,
            TEMPLATE_FIT_SEARCH_SPACE,
        ),
        InferenceRecipe(
            "counting",
            "events above the score cut maximising s/sqrt(b + (0.01 b)^2), one Poisson bin with the same six nuisances",
            _counting,
            0.3,
        ),
        InferenceRecipe(
            "likelihood-ratio",
            "unbinned extended likelihood with isotonic-calibrated per-event "
            "ratios p_s/p_b, densities corrected per score bin for the shape nuisances, six constrained "
            "nuisances, spurious-signal term for the ratio's simulation statistics",
            _likelihood_ratio,
            0.3,
        ),
    )
}

_DEMO = {"bdt-template-fit", "nn-deep-all-template-fit"}


def _combined(classifier: ClassifierRecipe, inference: InferenceRecipe) -> Callable[..., Any]:
    def factory(size: str, device: str, seed: int, **params: Any) -> Any:
        from .signal_strength import SignalStrengthEstimator

        # The two spaces share no name: each override goes to the part that declares it.
        of_inference = {k: v for k, v in params.items() if k in inference.search_space}
        of_classifier = {k: v for k, v in params.items() if k not in of_inference}
        return SignalStrengthEstimator(
            classifier=classifier.make(size, device, seed, **of_classifier),
            inference=inference.make(seed, **of_inference),
            classifier_fraction=inference.classifier_fraction,
            augmentation=classifier.augmentation(size, seed),
            seed=seed,
        )

    return factory


BASELINES: dict[str, Baseline] = {
    f"{c.name}-{i.name}": Baseline(
        f"{c.name}-{i.name}",
        "higgs-uncertainty",
        f"{c.description}; {i.description}",
        _combined(c, i),
        in_demo=f"{c.name}-{i.name}" in _DEMO,
        search_space={**c.search_space, **i.search_space},
    )
    for c in CLASSIFIERS.values()
    for i in INFERENCES.values()
}

COMPARISON_TABLE: tuple[str, ...] = (
    *(f"{c}-template-fit" for c in CLASSIFIERS),
    "bdt-counting",
    "nn-deep-all-counting",
    "bdt-likelihood-ratio",
    "nn-deep-all-likelihood-ratio",
)
"""The methods ``hepbench baseline compare`` runs by default: every classifier with the template
fit, and every inference method with the BDT and the deep NN."""

STUDIES: dict[str, str] = {
    "feature-ranking": "seven feature rankings (iterative addition / removal, correlation with the BDT "
    "score, BDT split frequency, separation, random subsets, permutation) and AUC against the number of features",
    "fixed-sample-offset": "bdt-template-fit's mean offset that every pseudo-experiment shares: Asimov fits of the "
    "test set's expected counts (nominal and drawn nuisances), the offset's spread from the test set's and "
    "the templates' simulation errors, and the interval's coverage on binned toys with the templates fixed or redrawn",
}
"""Studies run by ``hepbench baseline run`` that produce rankings and plots rather than an interval."""
