"""Optional particle-level generator: Pythia 8 events clustered into the challenge's features.

Needs the ``pythia`` extra (``pip install hepbench[pythia]``: ``pythia8mc``, which compiles
Pythia 8 from source). A few ms per event per core (3 ms for the signal here), so events are generated in seeded
chunks that run on Dask workers (``client``) with the same result as serially.

QCD: ``HardQCD:all`` at sqrt(s) = 13 TeV with pTHat > 1 TeV. Signal: W' -> X Y with X and Y
decaying to light quarks. Pythia's W' (34) has one two-boson channel, W' -> W Z (switched on
with ``Wprime:coup2WZ``), so X is Pythia's W (24) with its mass set to m_X and Y its Z (23) with
mass m_Y, both forced into light quarks: only the masses and the two-prong decays matter for the
features, and the sample holds no other W or Z. Visible final-state particles
with |eta| < 2.5 are clustered by ``real_data.jet_features`` (anti-kT R = 1.0, N-subjettiness)
and events whose leading jet has pT > 1.2 TeV are kept, as in the R&D set. There is no detector
simulation (the R&D set used Delphes), so jet masses and tau21 are sharper than in the real data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...parallel import map_tasks
from .particles import particle_frame
from .real_data import jet_features
from .schema import COLUMNS, LABEL

CHUNK_EVENTS = 250
LEADING_JET_PT_MIN = 1.2
"""TeV, the R&D set's trigger requirement."""
ETA_MAX = 2.5

_COMMON = ("Beams:eCM = 13000.", "Print:quiet = on", "Next:numberCount = 0", "Random:setSeed = on")
QCD_SETTINGS = ("HardQCD:all = on", "PhaseSpace:pTHatMin = 1000.")


def signal_settings(m_wprime: float = 3500.0, m_x: float = 500.0, m_y: float = 100.0) -> tuple[str, ...]:
    """Pythia settings of W' -> X(qq) Y(qq); masses in GeV."""
    return (
        "NewGaugeBoson:ffbar2Wprime = on",
        "Wprime:coup2WZ = 1.",
        f"34:m0 = {m_wprime}",
        "34:onMode = off",
        "34:onIfMatch = 23 24",
        f"24:m0 = {m_x}",
        "24:onMode = off",
        "24:onIfAny = 1 2 3 4",
        f"23:m0 = {m_y}",
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4",
    )


def _import_pythia():
    try:
        import pythia8mc
    except ImportError as err:
        raise ImportError(
            "the Pythia generator needs the 'pythia' extra: pip install 'hepbench[pythia]' "
            f"(pythia8mc, compiled from source) ({err})"
        ) from None
    return pythia8mc


def _chunk(
    settings: tuple[str, ...], n_events: int, seed: int, label: int, particles: int | None = None
) -> pd.DataFrame:
    """``n_events`` Pythia events (before the pT cut) as features (and, with ``particles``, the
    hardest ``particles`` visible particles of each event); one Pythia seed per chunk."""
    pythia8mc = _import_pythia()
    pythia = pythia8mc.Pythia("", False)
    for line in (*_COMMON, f"Random:seed = {seed}", *settings):
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia failed to initialise")
    pt, eta, phi, mass = [], [], [], []
    done = 0
    while done < n_events:
        if not pythia.next():
            continue
        kept = [
            (p.pT(), p.eta(), p.phi(), p.m())
            for p in pythia.event
            if p.isFinal() and p.isVisible() and abs(p.eta()) < ETA_MAX
        ]
        values = np.array(kept, dtype=np.float64).reshape(-1, 4)
        for store, column in zip((pt, eta, phi, mass), values.T):
            store.append(column)
        done += 1
    width = max(len(p) for p in pt)

    def padded(rows: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(rows), width))
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out

    arrays = [padded(v) for v in (pt, eta, phi, mass)]
    features = jet_features(*arrays)
    leading = features[["pt_j1", "pt_j2"]].max(axis=1)
    keep = (features[list(COLUMNS)].notna().all(axis=1) & (leading > LEADING_JET_PT_MIN)).to_numpy()
    features = features[list(COLUMNS)][keep].reset_index(drop=True)
    features[LABEL] = np.int8(label)
    if particles is None:
        return features
    # The particle-level schema of the R&D file: the hardest particles, pT-descending, zero-padded.
    order = np.argsort(-arrays[0][keep], axis=1)[:, :particles]
    chosen = [np.take_along_axis(a[keep], order, axis=1) for a in arrays[:3]]
    if chosen[0].shape[1] < particles:
        chosen = [np.pad(a, ((0, 0), (0, particles - a.shape[1]))) for a in chosen]
    return pd.concat([features, particle_frame(*chosen)], axis=1)


def generate_pythia_events(
    n_background: int,
    n_signal: int,
    seed: int,
    *,
    m_wprime: float = 3500.0,
    m_x: float = 500.0,
    m_y: float = 100.0,
    client: Any = None,
    chunk_events: int = CHUNK_EVENTS,
    particles: int | None = None,
) -> pd.DataFrame:
    """Generated (not selected) event counts ``n_background`` QCD and ``n_signal`` W' events,
    clustered; returns the events passing the leading-jet cut, ``schema.COLUMNS`` + ``label``
    (TeV); with ``particles`` also the hardest ``particles`` visible particles of each event in
    the R&D particle-level schema (``schema.particle_columns``, GeV). Chunk ``k`` of each process has its own Pythia seed, so ``client`` (a
    ``distributed.Client``) gives the serial result."""
    if n_background < 0 or n_signal < 0:
        raise ValueError(f"event counts must be >= 0, got {n_background} and {n_signal}")
    tasks = []
    for label, n, settings in ((0, n_background, QCD_SETTINGS), (1, n_signal, signal_settings(m_wprime, m_x, m_y))):
        n_chunks = -(-n // chunk_events)
        children = np.random.SeedSequence([seed, label]).spawn(n_chunks)
        for k, child in enumerate(children):
            # Pythia takes seeds up to 900,000,000.
            pythia_seed = int(child.generate_state(1, dtype=np.uint32)[0] % 900_000_000) + 1
            tasks.append((settings, min(chunk_events, n - k * chunk_events), pythia_seed, label, particles))
    if not tasks:
        raise ValueError("no events requested")
    return pd.concat(map_tasks(_chunk, tasks, client=client), ignore_index=True)
