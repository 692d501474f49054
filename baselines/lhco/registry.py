"""LHC Olympics anomaly detectors: ``fit(AnomalyInputs) -> self``, ``predict(events)`` -> anomaly
score per event (higher = more signal-like).

Classifier-based methods share ``anomaly_classifier.py``; ANODE and CATHODE share the
conditional flow of ``density.py``. Factories import their module (and torch) on first call.
"""

from __future__ import annotations

from ..base import Baseline, Param, lazy_factory

_HERE = "hepbench.baselines.lhco"
_METHODS: dict[str, tuple[str, str]] = {
    "supervised": ("supervised:SupervisedClassifier", "fully supervised upper bound"),
    "idealized-ad": ("idealized:IdealizedAnomalyDetector", "idealized anomaly detector (data vs perfect background)"),
    "cwola-hunting": ("cwola:CWoLaHunting", "CWoLa hunting (signal region vs sidebands)"),
}
"""The classifier-based methods whose network is a choice: method -> (class, description)."""
_NETWORKS: dict[str, str] = {
    "cnn": "a CNN on 25x25 two-jet images (centred, rotated, flipped; pT-weighted)",
    "gru": "a GRU over each jet's 50 hardest constituents (pT-ordered)",
    "deepsets": "a deep-sets particle-flow network over each jet's 50 hardest constituents",
}
"""Particle-level networks (``networks.ARCHITECTURES``): METHOD-NETWORK baselines; they need data
generated with ``--constituents``."""

CLASSIFIER_SEARCH_SPACE: dict[str, Param] = {
    "learning_rate": Param("float", 1e-4, 1e-2, log=True),
    "width": Param("int", 16, 256, log=True),
    "depth": Param("int", 1, 4),
    "batch_size": Param("categorical", choices=(64, 128, 256, 512)),
}
"""What ``hepbench baseline tune`` searches for the detectors built on one ``AnomalyClassifier``
(Adam learning rate, hidden width and depth, batch size; the anchor's 3 x 64 at 1e-3 lies inside)."""

BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "supervised",
            "lhco",
            "fully supervised upper bound: 3x64 MLP on labelled signal vs background "
            "in the signal region, mean of the 10 best epochs",
            lazy_factory(f"{_HERE}.supervised:SupervisedClassifier.for_size"),
            search_space=CLASSIFIER_SEARCH_SPACE,
            in_demo=True,
        ),
        Baseline(
            "idealized-ad",
            "lhco",
            "idealized anomaly detector: classifier of signal-region data vs a perfect background simulation",
            lazy_factory(f"{_HERE}.idealized:IdealizedAnomalyDetector.for_size"),
            search_space=CLASSIFIER_SEARCH_SPACE,
            in_demo=True,
        ),
        Baseline(
            "cwola-hunting",
            "lhco",
            "CWoLa hunting: classifier of signal region vs the adjacent 200 GeV "
            "sideband strips (weights SR 0.5, each strip 0.25)",
            lazy_factory(f"{_HERE}.cwola:CWoLaHunting.for_size"),
            search_space=CLASSIFIER_SEARCH_SPACE,
            in_demo=True,
        ),
        Baseline(
            "anode",
            "lhco",
            "ANODE: log p_SR(x|mjj) - log p_SB(x|mjj) with two masked autoregressive flows",
            lazy_factory(f"{_HERE}.anode:ANODE.for_size"),
        ),
        Baseline(
            "cathode",
            "lhco",
            "CATHODE: flow p(x|mjj) fitted on the sidebands, sampled 4x into the signal "
            "region (mjj from a KDE), classifier of data vs samples",
            lazy_factory(f"{_HERE}.cathode:CATHODE.for_size"),
        ),
        Baseline(
            "autoencoder",
            "lhco",
            "unsupervised autoencoder on signal-region data, score = reconstruction error",
            lazy_factory(f"{_HERE}.autoencoder:Autoencoder.for_size"),
        ),
        *(
            Baseline(
                f"{method}-{network}",
                "lhco",
                f"{description} with {text}; needs particle-level data",
                lazy_factory(f"{_HERE}.{target}.for_size", architecture=network),
            )
            for method, (target, description) in _METHODS.items()
            for network, text in _NETWORKS.items()
        ),
    )
}

PARTICLE_LEVEL = frozenset(f"{method}-{network}" for method in _METHODS for network in _NETWORKS)
HIGH_LEVEL: tuple[str, ...] = tuple(name for name in BASELINES if name not in PARTICLE_LEVEL)
"""The baselines on the four high-level features: ``hepbench baseline compare lhco``'s default
(the particle-level ones need data generated with ``--constituents``; name them to run them)."""
