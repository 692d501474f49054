"""What an LHCO anomaly detector is given, and what it returns.

A detector is fitted on ``AnomalyInputs`` and scores events: ``predict(events)`` returns one
anomaly score per row (higher = more signal-like), shape (n_events,). Scoring compares the
scores with the hidden labels of a test set drawn from the signal region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .schema import SIGNAL_REGION


@dataclass(frozen=True)
class AnomalyInputs:
    data: pd.DataFrame
    """The unlabelled data over the full mjj range: columns ``schema.COLUMNS`` (TeV)."""
    background_reference: pd.DataFrame | None = None
    """Simulated background alone (columns ``schema.COLUMNS``): only the idealized anomaly
    detector may use it; ``None`` in a real search."""
    labelled: pd.DataFrame | None = None
    """Signal and background with ``label``: only the fully supervised upper bound may use it."""
    signal_region: tuple[float, float] = SIGNAL_REGION
    """mjj window (TeV) in which to look for the resonance."""
