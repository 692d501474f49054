"""Every baseline method, by challenge, with its configuration per size.

``size`` is ``tiny`` (tests), ``small`` (demo) or ``full`` (the anchor's recipe); a factory
returns an unfitted estimator with the challenge's fit / predict interface.

HiggsML Uncertainty baselines are every pairing of a classifier (how events are scored, and on
which training set) with an inference method (how mu and its interval come out of the scores):
``<classifier>-<inference>``, e.g. ``nn-deep-all-template-fit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..challenges.higgs_uncertainty.schema import FEATURES, PRIMARY_FEATURES
from .anode import ANODE
from .augmentation import NuisanceAugmentation
from .autoencoder import Autoencoder
from .bdt import BDTClassifier
from .calo_diffusion import CaloDiffusionGenerator
from .calo_flow import CaloFlowGenerator
from .calo_flow_matching import CaloFlowMatchingGenerator
from .calo_gan import CaloGANGenerator
from .calo_inn import CaloINNGenerator
from .cathode import CATHODE
from .counting import CountingExperiment
from .cwola import CWoLaHunting
from .idealized import IdealizedAnomalyDetector
from .likelihood_ratio import LikelihoodRatioFit
from .neural_net import NeuralNetClassifier
from .signal_strength import SignalStrengthEstimator
from .supervised import SupervisedClassifier
from .template_fit import BinnedTemplateFit


@dataclass(frozen=True)
class Baseline:
    name: str
    challenge: str
    description: str
    factory: Callable[[str, str, int], Any]
    """(size, device, seed) -> unfitted estimator."""
    in_demo: bool = False
    """Run by ``hepbench demo`` (the demo must stay within minutes on two CPU cores)."""


# -- HiggsML Uncertainty: classifiers ---------------------------------------------------------
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
LOW_LEVEL = PRIMARY_FEATURES
LOW_AND_HIGH_LEVEL = FEATURES


@dataclass(frozen=True)
class ClassifierRecipe:
    name: str
    description: str
    make: Callable[[str, str, int], Any]
    """(size, device, seed) -> unfitted classifier."""
    augmentation: Callable[[str, int], NuisanceAugmentation | None] = lambda size, seed: None


def _bdt(size: str, device: str, seed: int) -> BDTClassifier:
    return BDTClassifier(FEATURES, device=device, seed=seed, **_BDT_SIZES[size])


def _nn(depth: str, features: tuple[str, ...], **options: Any) -> Callable[[str, str, int], NeuralNetClassifier]:
    def make(size: str, device: str, seed: int) -> NeuralNetClassifier:
        cfg = _NN_SIZES[size]
        return NeuralNetClassifier(features, hidden=cfg[depth], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                   device=device, seed=seed, **options)
    return make


def _augmented(spread: float) -> Callable[[str, int], NuisanceAugmentation]:
    return lambda size, seed: NuisanceAugmentation(n_draws=_AUGMENT_DRAWS[size], spread=spread, seed=seed)


CLASSIFIERS: dict[str, ClassifierRecipe] = {r.name: r for r in (
    ClassifierRecipe("bdt", "xgboost BDT on all 28 features", _bdt),
    ClassifierRecipe("nn-shallow-low", "1-hidden-layer NN on the 16 PRI_* features", _nn("shallow", LOW_LEVEL)),
    ClassifierRecipe("nn-shallow-all", "1-hidden-layer NN on PRI_* + DER_* features", _nn("shallow", LOW_AND_HIGH_LEVEL)),
    ClassifierRecipe("nn-deep-low", "deep NN (3+ hidden layers) on the 16 PRI_* features", _nn("deep", LOW_LEVEL)),
    ClassifierRecipe("nn-deep-all", "deep NN on PRI_* + DER_* features", _nn("deep", LOW_AND_HIGH_LEVEL)),
    ClassifierRecipe("nn-focal", "deep NN, all features, focal loss (gamma 2)",
                     _nn("deep", LOW_AND_HIGH_LEVEL, focal_gamma=2.0)),
    ClassifierRecipe("nn-fgsm", "deep NN, all features, FGSM adversarial examples (eps 0.01)",
                     _nn("deep", LOW_AND_HIGH_LEVEL, fgsm_epsilon=0.01)),
    ClassifierRecipe("bdt-augmented", "BDT trained on copies shifted by nuisance draws (data augmentation)",
                     _bdt, _augmented(1.0)),
    ClassifierRecipe("nn-augmented", "deep NN trained on copies shifted by nuisance draws (data augmentation)",
                     _nn("deep", LOW_AND_HIGH_LEVEL), _augmented(1.0)),
    ClassifierRecipe("nn-parameterised", "deep NN with TES, JES and soft MET as extra inputs, trained over "
                     "nuisance draws (3x the prior width)", _nn("deep", LOW_AND_HIGH_LEVEL, nuisance_inputs=True),
                     _augmented(3.0)),
    ClassifierRecipe("nn-adversarial", "deep NN decorrelated from TES, JES and soft MET by an adversary, "
                     "trained over nuisance draws (3x the prior width)",
                     _nn("deep", LOW_AND_HIGH_LEVEL, adversary_weight=1.0), _augmented(3.0)),
)}


# -- HiggsML Uncertainty: inference -----------------------------------------------------------
@dataclass(frozen=True)
class InferenceRecipe:
    name: str
    description: str
    make: Callable[[int], Any]
    classifier_fraction: float


INFERENCES: dict[str, InferenceRecipe] = {r.name: r for r in (
    # The templates' simulation statistics limit the binned fit in the signal-like bins; the
    # classifier saturates with fewer events, so most of the training set builds templates.
    InferenceRecipe("template-fit", "score in 10 bins, per-bin quadratic response in TES / JES / soft MET, "
                    "six constrained nuisances, MINOS interval", lambda seed: BinnedTemplateFit(n_bins=10, seed=seed), 0.3),
    InferenceRecipe("counting", "events above the score cut maximising s/sqrt(b + (0.01 b)^2), one Poisson "
                    "bin with the same six nuisances", lambda seed: CountingExperiment(seed=seed), 0.3),
    InferenceRecipe("likelihood-ratio", "unbinned extended likelihood with isotonic-calibrated per-event "
                    "ratios p_s/p_b, densities corrected per score bin for the shape nuisances, six constrained "
                    "nuisances, spurious-signal term for the ratio's simulation statistics",
                    lambda seed: LikelihoodRatioFit(seed=seed), 0.3),
)}

_DEMO = {"bdt-template-fit", "nn-deep-all-template-fit"}


def _combined(classifier: ClassifierRecipe, inference: InferenceRecipe) -> Callable[[str, str, int], SignalStrengthEstimator]:
    def factory(size: str, device: str, seed: int) -> SignalStrengthEstimator:
        return SignalStrengthEstimator(
            classifier=classifier.make(size, device, seed),
            inference=inference.make(seed),
            classifier_fraction=inference.classifier_fraction,
            augmentation=classifier.augmentation(size, seed),
            seed=seed,
        )
    return factory


def _higgs_baselines() -> dict[str, Baseline]:
    out = {}
    for classifier in CLASSIFIERS.values():
        for inference in INFERENCES.values():
            name = f"{classifier.name}-{inference.name}"
            out[name] = Baseline(name, "higgs-uncertainty", f"{classifier.description}; {inference.description}",
                                 _combined(classifier, inference), in_demo=name in _DEMO)
    return out


# -- Calorimeter fast simulation: shower generators ------------------------------------------
_CALO_GENERATORS = (
    (CaloGANGenerator, "CaloGAN-like WGAN-GP, fully connected, conditioned on log E_inc"),
    (CaloFlowGenerator, "CaloFlow-like: flow I (RQS MAF) for layer energies given E_inc, flow II (RQS MAF) "
     "for voxels normalised per layer given layer energies and E_inc"),
    (CaloINNGenerator, "CaloINN-like invertible network of RQS coupling blocks over voxels / E_inc"),
    (CaloDiffusionGenerator, "CaloDiffusion-like DDPM (v-prediction, MLP denoiser) over voxels / E_inc"),
    (CaloFlowMatchingGenerator, "CaloDREAM-like conditional flow matching, fixed-step ODE sampling"),
)


def _calo_baselines() -> dict[str, Baseline]:
    return {cls.name: Baseline(cls.name, "calo", description, cls.from_size, in_demo=cls.name in _CALO_DEMO)
            for cls, description in _CALO_GENERATORS}


_CALO_DEMO = ("calo-diffusion", "calo-flow-matching")


BASELINES: dict[str, dict[str, Baseline]] = {"higgs-uncertainty": _higgs_baselines(), "calo": _calo_baselines()}

COMPARISON_TABLE: dict[str, tuple[str, ...]] = {
    "higgs-uncertainty": (
        *(f"{c}-template-fit" for c in CLASSIFIERS),
        "bdt-counting", "nn-deep-all-counting", "bdt-likelihood-ratio", "nn-deep-all-likelihood-ratio",
    ),
}
"""The methods ``hepbench baseline compare`` runs by default: every classifier with the template
fit, and every inference method with the BDT and the deep NN."""


# -- LHC Olympics 2020: anomaly detectors -----------------------------------------------------
# fit(AnomalyInputs) -> self, predict(events) -> anomaly score per event (higher = more signal-like).
# Classifier-based methods share baselines/anomaly_classifier.py; ANODE and CATHODE share the
# conditional flow of baselines/density.py.
BASELINES["lhco"] = {b.name: b for b in (
    Baseline("supervised", "lhco", "fully supervised upper bound: 3x64 MLP on labelled signal vs background "
             "in the signal region, mean of the 10 best epochs", SupervisedClassifier.for_size, in_demo=True),
    Baseline("idealized-ad", "lhco", "idealized anomaly detector: classifier of signal-region data vs a "
             "perfect background simulation", IdealizedAnomalyDetector.for_size, in_demo=True),
    Baseline("cwola-hunting", "lhco", "CWoLa hunting: classifier of signal region vs the adjacent 200 GeV "
             "sideband strips (weights SR 0.5, each strip 0.25)", CWoLaHunting.for_size, in_demo=True),
    Baseline("anode", "lhco", "ANODE: log p_SR(x|mjj) - log p_SB(x|mjj) with two masked autoregressive flows",
             ANODE.for_size),
    Baseline("cathode", "lhco", "CATHODE: flow p(x|mjj) fitted on the sidebands, sampled 4x into the signal "
             "region (mjj from a KDE), classifier of data vs samples", CATHODE.for_size),
    Baseline("autoencoder", "lhco", "unsupervised autoencoder on signal-region data, score = reconstruction "
             "error", Autoencoder.for_size),
)}


STUDIES: dict[str, dict[str, str]] = {
    "higgs-uncertainty": {
        "feature-ranking": "seven feature rankings (iterative addition / removal, correlation with the BDT "
        "score, BDT split frequency, separation, random subsets, permutation) and AUC against the number of features",
    },
}
"""Studies run by ``hepbench baseline run`` that produce rankings and plots rather than an interval."""


def get_baseline(challenge: str, name: str) -> Baseline:
    methods = BASELINES.get(challenge)
    if methods is None:
        raise ValueError(f"no baselines for challenge {challenge!r}; known: {sorted(BASELINES)}")
    if name not in methods:
        raise ValueError(f"unknown baseline {name!r} for {challenge}; known: {sorted(methods)}")
    return methods[name]
