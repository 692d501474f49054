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

PARTICLE_FIELDS: tuple[str, ...] = ("pt", "eta", "phi")
"""Per-particle quantities of the particle-level schema: pT (GeV), pseudorapidity, azimuth."""


def particle_columns(n_particles: int) -> list[str]:
    """Columns of ``n_particles`` particles per event, in the R&D file's order (pT, eta, phi of
    particle 0, then of particle 1, ...): ``pt_0, eta_0, phi_0, pt_1, ...``. pT in GeV;
    zero-padded (pT = 0) rows are empty slots."""
    return [f"{field}_{i}" for i in range(n_particles) for field in PARTICLE_FIELDS]


def n_particles(frame_columns: object) -> int:
    """Number of particle slots among ``frame_columns`` (0 when the table is high-level only)."""
    names = set(map(str, frame_columns))  # type: ignore[call-overload]
    n = 0
    while f"pt_{n}" in names:
        n += 1
    return n
