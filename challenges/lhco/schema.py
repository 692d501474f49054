"""Columns, units and regions of the LHC Olympics R&D data (SPEC section 2).

Events are rows with the dijet invariant mass ``mjj`` and four features of the two leading
anti-kT R = 1.0 jets ordered by mass (``mj1`` the lighter): every mass in TeV. ``label`` is 1
for signal and 0 for background; it is truth, present only where the protocol allows it.
"""

from __future__ import annotations

MJJ = "mjj"
FEATURES: tuple[str, ...] = ("mj1", "delta_m", "tau21_j1", "tau21_j2")
"""Anomaly-detection inputs: lighter jet mass (TeV), m_j2 - m_j1 (TeV), tau2/tau1 of each jet."""
LABEL = "label"
COLUMNS: tuple[str, ...] = (MJJ, *FEATURES)

SIGNAL_REGION: tuple[float, float] = (3.3, 3.7)
"""mjj window in TeV; everything outside it is the sidebands."""
