"""Loaders for the real LHC Olympics 2020 R&D data (zenodo 4536377) and its jet features.

- The official R&D file: pandas HDF5 (key ``df``), one row per event, 700 particles x
  (pT [GeV], eta, phi) zero-padded, then the signal label. :func:`read_rnd_events` reads it in
  chunks, clusters jets and returns the standard features.
- The public high-level subset (``scalars_bkg*.h5`` key ``bkg``, ``scalars_sig*.h5`` key
  ``sig``; GeV): :func:`load_highlevel_subset`. Its ``tau21_*`` columns hold tau3/tau2 by
  mistake, so tau21 is recomputed from ``tau2_*`` / ``tau1_*``.

Both return ``schema.COLUMNS`` (TeV) plus ``label``, jets ordered by mass (j1 the lighter).

Jet features (:func:`jet_features`): anti-kT R = 1.0 jets (scikit-hep ``fastjet``), the two
leading in pT; N-subjettiness with beta = 1 on exclusive-kT axes. The ``fastjet`` Python
package ships no fastjet-contrib, so Nsubjettiness is computed here:
``tau_N = sum_k pT_k min_a dR(k, a) / sum_k pT_k`` with the axes ``a`` the N exclusive kT
subjets of the jet's constituents. By default dR uses each axis's pseudorapidity (and the
constituents', massless, rapidity = pseudorapidity); this reproduces the public high-level
features of the R&D set to machine precision. ``axis_coordinate="rapidity"`` uses the axes'
rapidity instead (fastjet-contrib's convention).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...parallel import map_tasks
from .schema import COLUMNS, LABEL

RND_KEY = "df"
RND_PARTICLES = 700
JET_RADIUS = 1.0
_KT_RADIUS = 1000.0  # fastjet's largest allowed R: exclusive kT subjets independent of R
JET_COLUMNS: tuple[str, ...] = (
    "mj2",
    "pt_j1",
    "pt_j2",
    "tau1_j1",
    "tau2_j1",
    "tau3_j1",
    "tau1_j2",
    "tau2_j2",
    "tau3_j2",
)
"""Extra per-event columns of :func:`jet_features` (masses and pT in TeV)."""
HIGHLEVEL_KEYS: dict[str, tuple[str, int]] = {"bkg": ("bkg", 0), "sig": ("sig", 1)}
"""File prefix -> (HDF5 key, label) of the high-level subset's files."""


def _jagged(values: Any, mask: np.ndarray | None, counts: np.ndarray | None) -> Any:
    import awkward as ak

    if mask is None:
        return ak.Array(values)
    return ak.unflatten(np.asarray(values, dtype=np.float64)[mask], counts)


def _rapidity(v: Any) -> Any:
    return 0.5 * np.log((v.E + v.pz) / (v.E - v.pz))


def _pseudorapidity(v: Any) -> Any:
    return np.arcsinh(v.pz / np.hypot(v.px, v.py))


def _nsubjettiness(constituents: Any, n_max: int, axis_coordinate: str, wrap_delta_phi: bool) -> np.ndarray:
    """tau_1..tau_n_max of each jet (rows of ``constituents``), beta = 1; shape (n_jets, n_max)."""
    import awkward as ak
    import fastjet

    n_const = ak.to_numpy(ak.num(constituents))
    pt = np.hypot(constituents.px, constituents.py)
    axis_y = _pseudorapidity if axis_coordinate == "eta" else _rapidity
    y = axis_y(constituents)
    phi = np.arctan2(constituents.py, constituents.px)
    kt = fastjet.JetDefinition(fastjet.kt_algorithm, _KT_RADIUS)
    taus = np.zeros((len(n_const), n_max))
    sequences: dict[bytes, Any] = {}
    for n in range(1, n_max + 1):
        # A jet with at most n constituents has tau_n = 0 (every constituent is an axis).
        use = n_const > n
        if not use.any():
            continue
        key = use.tobytes()
        if key not in sequences:
            sequences[key] = fastjet.ClusterSequence(constituents[use], kt)
        with warnings.catch_warnings():
            # The awkward interface warns for every exclusive clustering, kT included.
            warnings.filterwarnings("ignore", message="dcut and exclusive jets")
            axes = sequences[key].exclusive_jets(n_jets=n)
        distance = None
        for k in range(n):
            a = axes[:, k]
            dphi = phi[use] - np.arctan2(a.py, a.px)
            if wrap_delta_phi:
                dphi = (dphi + np.pi) % (2.0 * np.pi) - np.pi
            d = np.sqrt((y[use] - axis_y(a)) ** 2 + dphi**2)
            distance = d if distance is None else np.minimum(distance, d)
        taus[use, n - 1] = ak.to_numpy(ak.sum(pt[use] * distance, axis=1) / ak.sum(pt[use], axis=1))
    return taus


def _particles(pt: Any, eta: Any, phi: Any, mass: Any) -> Any:
    """Jagged massive four-vectors (px, py, pz, E; GeV) of zero-padded or jagged particle arrays."""
    import awkward as ak

    mask = counts = None
    if not isinstance(pt, ak.Array):
        pt_arr = np.asarray(pt, dtype=np.float64)
        if pt_arr.ndim != 2:
            raise ValueError(f"pt must be (n_events, n_particles) or jagged, got shape {pt_arr.shape}")
        for name, arr in (("eta", eta), ("phi", phi), ("mass", mass)):
            if arr is not None and np.shape(arr) != pt_arr.shape:
                raise ValueError(f"{name} has shape {np.shape(arr)}, pt {pt_arr.shape}")
        mask = pt_arr > 0
        counts = mask.sum(axis=1)
    ptj, etaj, phij = (_jagged(v, mask, counts) for v in (pt, eta, phi))
    mj = _jagged(mass, mask, counts) if mass is not None else 0.0 * ptj
    pz = ptj * np.sinh(etaj)
    return ak.zip({"px": ptj * np.cos(phij), "py": ptj * np.sin(phij), "pz": pz, "E": np.sqrt(ptj**2 + pz**2 + mj**2)})


def _leading_jets(pt: Any, eta: Any, phi: Any, mass: Any, radius: float) -> tuple[int, np.ndarray, Any, Any]:
    """Anti-kT clustering: ``(n_events, rows, jets, constituents)`` with ``rows`` the events with
    two or more jets, ``jets`` their two leading-pT jets (n_rows, 2) and ``constituents`` those
    jets' particles (n_rows, 2, var), all four-vectors in GeV."""
    import awkward as ak
    import fastjet

    particles = _particles(pt, eta, phi, mass)
    n_events = len(particles)
    has_particles = ak.to_numpy(ak.num(particles)) > 0
    if not has_particles.any():
        return n_events, np.zeros(0, dtype=np.int64), None, None
    sequence = fastjet.ClusterSequence(
        particles[has_particles], fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    )
    jets, constituents = sequence.inclusive_jets(), sequence.constituents()
    dijet = ak.to_numpy(ak.num(jets)) >= 2
    rows = np.flatnonzero(has_particles)[dijet]
    jets, constituents = jets[dijet], constituents[dijet]
    order = ak.argsort(np.hypot(jets.px, jets.py), axis=1, ascending=False)[:, :2]
    return n_events, rows, jets[order], constituents[order]


def jet_constituents(
    pt: Any, eta: Any, phi: Any, n_per_jet: int, *, radius: float = JET_RADIUS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constituents of each event's two leading anti-kT jets, as the particle networks see them.

    Input as for :func:`jet_features` (GeV). Returns ``(constituents, jets, multiplicity)``:
    ``constituents`` (n_events, 2, n_per_jet, 3) float32 with (pT [GeV], eta, phi) of each jet's
    ``n_per_jet`` hardest particles, pT-descending and zero-padded; ``jets`` (n_events, 2, 4)
    float64 (pT [GeV], eta, phi, mass [GeV]); ``multiplicity`` (n_events, 2) the jets' particle
    counts before truncation. Jets are ordered by mass (j1 the lighter), as in ``schema``;
    events with fewer than two jets are all zeros (multiplicity 0).
    """
    import awkward as ak

    if n_per_jet < 1:
        raise ValueError(f"n_per_jet must be >= 1, got {n_per_jet}")
    n_events, rows, lead, members = _leading_jets(pt, eta, phi, None, radius)
    constituents = np.zeros((n_events, 2, n_per_jet, 3), dtype=np.float32)
    jets = np.zeros((n_events, 2, 4))
    multiplicity = np.zeros((n_events, 2), dtype=np.int64)
    if not len(rows):
        return constituents, jets, multiplicity
    four = {f: ak.to_numpy(getattr(lead, f)) for f in ("E", "px", "py", "pz")}
    jet_pt = np.hypot(four["px"], four["py"])
    mass = np.sqrt(np.maximum(four["E"] ** 2 - jet_pt**2 - four["pz"] ** 2, 0.0))
    heavier_first = mass[:, 0] > mass[:, 1]
    swap = np.stack([heavier_first.astype(np.int64), 1 - heavier_first.astype(np.int64)], axis=1)
    idx = np.arange(len(rows))[:, None]
    c_pt = np.hypot(members.px, members.py)
    order = ak.argsort(c_pt, axis=2, ascending=False)
    c_pt, members = c_pt[order], members[order]
    c_eta = np.arcsinh(members.pz / c_pt)
    c_phi = np.arctan2(members.py, members.px)
    padded = [
        ak.to_numpy(ak.fill_none(ak.pad_none(v, n_per_jet, axis=2, clip=True), 0.0)) for v in (c_pt, c_eta, c_phi)
    ]
    stacked = np.stack(padded, axis=-1)  # (n_rows, 2, n_per_jet, 3)
    constituents[rows] = stacked[idx, swap]
    jet_eta = np.arcsinh(four["pz"] / jet_pt)
    jet_phi = np.arctan2(four["py"], four["px"])
    jets[rows] = np.stack([jet_pt, jet_eta, jet_phi, mass], axis=-1)[idx, swap]
    multiplicity[rows] = ak.to_numpy(ak.num(members, axis=2))[idx, swap]
    return constituents, jets, multiplicity


def jet_features(
    pt: Any,
    eta: Any,
    phi: Any,
    mass: Any = None,
    *,
    radius: float = JET_RADIUS,
    axis_coordinate: str = "eta",
    wrap_delta_phi: bool = True,
) -> pd.DataFrame:
    """Dijet features of events given as particles.

    ``pt`` (GeV), ``eta``, ``phi`` and optional ``mass`` (GeV, default 0) are either 2-D arrays
    ``(n_events, n_particles)`` zero-padded (particles with ``pt <= 0`` are ignored) or jagged
    awkward arrays. Returns one row per event: ``schema.COLUMNS`` and :data:`JET_COLUMNS`,
    masses and pT in TeV, the two leading-pT anti-kT jets ordered by mass (j1 the lighter).
    Events with fewer than two jets get NaN. ``wrap_delta_phi=False`` skips wrapping the
    azimuthal distance into [-pi, pi): wrong, but it is how the public high-level subset was
    made, and with it this function reproduces that subset's taus.
    """
    if axis_coordinate not in ("eta", "rapidity"):
        raise ValueError(f"axis_coordinate must be 'eta' or 'rapidity', got {axis_coordinate!r}")
    import awkward as ak

    n_events, rows, lead, lead_constituents = _leading_jets(pt, eta, phi, mass, radius)
    out = np.full((n_events, len(COLUMNS) + len(JET_COLUMNS)), np.nan)
    if len(rows):
        four = {f: ak.to_numpy(getattr(lead, f)) for f in ("E", "px", "py", "pz")}  # (n, 2) each
        m = np.sqrt(np.maximum(four["E"] ** 2 - four["px"] ** 2 - four["py"] ** 2 - four["pz"] ** 2, 0.0))
        total = {f: v.sum(axis=1) for f, v in four.items()}
        mjj = np.sqrt(np.maximum(total["E"] ** 2 - total["px"] ** 2 - total["py"] ** 2 - total["pz"] ** 2, 0.0))
        jet_pt = np.hypot(four["px"], four["py"])
        taus = _nsubjettiness(ak.flatten(lead_constituents, axis=1), 3, axis_coordinate, wrap_delta_phi).reshape(
            len(rows), 2, 3
        )
        # Order the two jets by mass: j1 the lighter.
        swap = m[:, 0] > m[:, 1]
        light, heavy = np.where(swap, 1, 0), np.where(swap, 0, 1)
        idx = np.arange(len(rows))
        tau21 = np.divide(taus[:, :, 1], taus[:, :, 0], out=np.zeros_like(taus[:, :, 0]), where=taus[:, :, 0] > 0)
        out[rows] = np.column_stack(
            [
                mjj / 1000.0,
                m[idx, light] / 1000.0,
                (m[idx, heavy] - m[idx, light]) / 1000.0,
                tau21[idx, light],
                tau21[idx, heavy],
                m[idx, heavy] / 1000.0,
                jet_pt[idx, light] / 1000.0,
                jet_pt[idx, heavy] / 1000.0,
                *taus[idx, light].T,
                *taus[idx, heavy].T,
            ]
        )
    return pd.DataFrame(out, columns=[*COLUMNS, *JET_COLUMNS])


def _check_rnd(path: Path, frame: pd.DataFrame) -> None:
    if frame.shape[1] % 3 != 1:
        raise ValueError(
            f"{path}: key {RND_KEY!r} has {frame.shape[1]} columns; expected 3 per particle (pT, eta, phi) plus the label"
        )
    label = frame.iloc[:, -1].to_numpy()
    if not np.isin(label, (0.0, 1.0)).all():
        raise ValueError(f"{path}: the last column (signal label) must be 0 or 1")


def rnd_event_count(path: str | Path) -> int:
    """Number of events in an R&D-format file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such LHC Olympics R&D file")
    with pd.HDFStore(path, mode="r") as store:
        if f"/{RND_KEY}" not in store:
            raise ValueError(f"{path}: no key {RND_KEY!r} (found {store.keys()})")
        storer = store.get_storer(RND_KEY)
        n = storer.nrows if storer.nrows is not None else storer.shape[0]
    return int(n)


def iter_rnd_particles(
    path: str | Path, start: int = 0, stop: int | None = None, chunk_size: int = 10_000
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Chunks ``(pt, eta, phi, label)`` of an R&D file: ``(n, n_particles)`` arrays (GeV) and
    ``(n,)`` labels, read with ``pandas.read_hdf(start=, stop=)`` so the file never has to fit
    in memory."""
    path = Path(path)
    stop = rnd_event_count(path) if stop is None else stop
    for lo in range(start, stop, chunk_size):
        frame = pd.read_hdf(path, key=RND_KEY, start=lo, stop=min(lo + chunk_size, stop))
        _check_rnd(path, frame)
        values = frame.to_numpy(dtype=np.float64)
        particles = values[:, :-1].reshape(len(values), -1, 3)
        yield particles[..., 0], particles[..., 1], particles[..., 2], values[:, -1].astype(np.int8)


def read_rnd_particles(path: str | Path, start: int = 0, stop: int | None = None) -> pd.DataFrame:
    """The particles of events ``[start, stop)`` of an R&D file in the particle-level schema
    (``schema.particle_columns``, float32, pT in GeV, 700 slots) plus ``label``: the table the
    fast generator (``particles.particle_frame``) and the Pythia generator write."""
    from .particles import particle_frame

    frames = []
    for pt, eta, phi, label in iter_rnd_particles(path, start, stop):
        frame = particle_frame(pt, eta, phi)
        frame[LABEL] = label
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _rnd_chunk(path: str, start: int, stop: int, options: dict[str, Any]) -> pd.DataFrame:
    frames = []
    for pt, eta, phi, label in iter_rnd_particles(path, start, stop, chunk_size=stop - start):
        features = jet_features(pt, eta, phi, **options)
        features[LABEL] = label
        features.index = np.arange(start, start + len(label))
        frames.append(features)
    return pd.concat(frames)


def read_rnd_events(
    path: str | Path,
    start: int = 0,
    stop: int | None = None,
    *,
    chunk_size: int = 10_000,
    client: Any = None,
    axis_coordinate: str = "eta",
    wrap_delta_phi: bool = True,
) -> pd.DataFrame:
    """Jet features of the events ``[start, stop)`` of an R&D-format file.

    Returns ``schema.COLUMNS``, :data:`JET_COLUMNS` and ``label`` (TeV), indexed by the event
    number in the file. Chunks of ``chunk_size`` events are processed one by one, or on the
    workers of ``client`` (a ``distributed.Client``) with the same result. Events with fewer
    than two jets are dropped; their number is ``frame.attrs["n_dropped"]``. The options
    are those of :func:`jet_features`.
    """
    path = Path(path)
    total = rnd_event_count(path)
    stop = total if stop is None else min(stop, total)
    if not 0 <= start <= stop:
        raise ValueError(f"{path}: need 0 <= start <= stop, got start={start}, stop={stop}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    options = {"axis_coordinate": axis_coordinate, "wrap_delta_phi": wrap_delta_phi}
    tasks = [(str(path), lo, min(lo + chunk_size, stop), options) for lo in range(start, stop, chunk_size)]
    frames = map_tasks(_rnd_chunk, tasks, client=client, description="R&D events")
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=[*COLUMNS, *JET_COLUMNS, LABEL])
    good = frame[list(COLUMNS)].notna().all(axis=1)
    out = frame[good].copy()
    out.attrs["n_dropped"] = int((~good).sum())
    return out


def load_highlevel_subset(folder: str | Path) -> pd.DataFrame:
    """The public high-level features (``scalars_{bkg,sig}NN.h5``) as ``schema.COLUMNS`` + label.

    Masses in the files are GeV; the result is in TeV, jets ordered by mass. tau21 is
    recomputed as tau2 / tau1 (0 where tau1 == 0) because the files' ``tau21_*`` columns are
    wrong. Extra columns: :data:`JET_COLUMNS`, ``file`` (name), ``event`` (row index in its
    file) and ``tau_valid_j1`` / ``tau_valid_j2``.

    The subset's N-subjettiness was computed without wrapping the azimuthal distance, so the
    taus of a jet whose constituents straddle phi = +-pi are wrong (tau21 up to ~2; a third of
    the events). ``tau_valid_jN`` marks the jets far enough from phi = +-pi (both checked
    against a recomputation from the constituents of the first 1,000 events); phi is
    independent of the substructure, so these jets are an unbiased sample of tau21.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected scalars_bkg*.h5 and scalars_sig*.h5)")
    frames = []
    for prefix, (key, label) in HIGHLEVEL_KEYS.items():
        files = sorted(folder.glob(f"scalars_{prefix}*.h5"))
        if not files:
            raise FileNotFoundError(f"{folder}: no scalars_{prefix}*.h5 files")
        for file in files:
            try:
                raw = pd.read_hdf(file, key=key)
            except KeyError as err:
                raise ValueError(f"{file}: no key {key!r}") from err
            frames.append(_highlevel_features(file, raw, label))
    return pd.concat(frames, ignore_index=True)


SUBSET_PHI_MARGIN = 1.1
"""A jet of the high-level subset has correct taus when ``|phi| < pi - SUBSET_PHI_MARGIN``."""
_HIGHLEVEL_NEEDED = (
    "mjj",
    "mass_1",
    "mass_2",
    "pt_1",
    "pt_2",
    "phi_1",
    "phi_2",
    "tau1_1",
    "tau2_1",
    "tau3_1",
    "tau1_2",
    "tau2_2",
    "tau3_2",
)


def _highlevel_features(file: Path, raw: pd.DataFrame, label: int) -> pd.DataFrame:
    missing = [c for c in _HIGHLEVEL_NEEDED if c not in raw.columns]
    if missing:
        raise ValueError(f"{file}: missing column(s) {missing}")
    for column in _HIGHLEVEL_NEEDED:
        bad = int(np.count_nonzero(~np.isfinite(raw[column].to_numpy(dtype=np.float64))))
        if bad:
            raise ValueError(f"{file}: column {column!r} has {bad} non-finite value(s)")
    mass = raw[["mass_1", "mass_2"]].to_numpy(np.float64)
    pt = raw[["pt_1", "pt_2"]].to_numpy(np.float64)
    taus = np.stack([raw[[f"tau{n}_{j}" for n in (1, 2, 3)]].to_numpy(np.float64) for j in (1, 2)], axis=1)
    tau21 = np.divide(taus[:, :, 1], taus[:, :, 0], out=np.zeros_like(taus[:, :, 0]), where=taus[:, :, 0] != 0)
    phi = raw[["phi_1", "phi_2"]].to_numpy(np.float64)
    light = np.where(mass[:, 0] > mass[:, 1], 1, 0)
    heavy = 1 - light
    idx = np.arange(len(raw))
    out = pd.DataFrame(
        {
            "mjj": raw["mjj"].to_numpy(np.float64) / 1000.0,
            "mj1": mass[idx, light] / 1000.0,
            "delta_m": (mass[idx, heavy] - mass[idx, light]) / 1000.0,
            "tau21_j1": tau21[idx, light],
            "tau21_j2": tau21[idx, heavy],
            "mj2": mass[idx, heavy] / 1000.0,
            "pt_j1": pt[idx, light] / 1000.0,
            "pt_j2": pt[idx, heavy] / 1000.0,
            **{f"tau{n}_j1": taus[idx, light, n - 1] for n in (1, 2, 3)},
            **{f"tau{n}_j2": taus[idx, heavy, n - 1] for n in (1, 2, 3)},
        }
    )
    out[LABEL] = np.int8(label)
    out["file"] = file.name
    out["event"] = raw.index.to_numpy()
    valid = np.abs(phi) < np.pi - SUBSET_PHI_MARGIN
    out["tau_valid_j1"] = valid[idx, light]
    out["tau_valid_j2"] = valid[idx, heavy]
    return out
