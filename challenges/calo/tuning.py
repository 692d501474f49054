"""The validation objective of the calorimeter challenge: the low-level classifier AUC of a
generator's showers against validation showers held out of the training split (the test split
is never read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...scoring.calo import apply_threshold, classifier_test, evaluation_threshold, low_level_inputs
from .dataset import load_split
from .simulator import detector_model

VALIDATION_FRACTION = 0.2
"""Share of the training showers kept out of training to compare generated showers with."""


def validation_metrics(
    generator: Any,
    data_dir: str | Path,
    geometry: str,
    *,
    classifier: str = "small",
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, float]:
    """Fit ``generator`` on 80% of ``GEOMETRY_train.hdf5``, generate showers for the other 20%'s
    incident energies, and train the evaluation classifier (config ``classifier``) on validation
    against generated showers: ``auc_low`` (0.5 = indistinguishable) and ``jsd_low``."""
    model = detector_model(geometry)
    train = load_split(data_dir, geometry, "train")
    order = np.random.default_rng([seed, 0x7661]).permutation(len(train))
    n_valid = max(2, int(round(VALIDATION_FRACTION * len(train))))
    valid, fit_part = order[:n_valid], order[n_valid:]
    generator.fit(train.incident_energy[fit_part], train.showers[fit_part], model.geometry)
    energy = train.incident_energy[valid]
    generated = generator.sample(energy, seed=seed)
    threshold = evaluation_threshold(model.geometry)
    result = classifier_test(
        low_level_inputs(energy, apply_threshold(train.showers[valid], threshold)),
        low_level_inputs(energy, apply_threshold(generated, threshold)),
        config=classifier,
        seed=seed,
        device=device,
    )
    return {"auc_low": float(result["auc"]), "jsd_low": float(result["jsd"])}
