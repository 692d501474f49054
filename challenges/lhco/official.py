"""The official LHC Olympics 2020 R&D files turned into a hepbench data folder.

Sources (``hepbench data fetch lhco-rnd`` / ``lhco-extra-qcd``):

- ``events_anomalydetection_v2.features.h5``: per event p_x, p_y, p_z, m, tau_1..3 of the two
  leading anti-kT R = 1.0 jets (GeV) and ``label`` (:func:`read_features_file`);
- ``events_anomalydetection_v2.h5``: the particles, clustered here by
  :func:`~hepbench.challenges.lhco.real_data.read_rnd_events`;
- ``events_anomalydetection_qcd_extra_inneronly_features.h5``: extra QCD events inside the signal
  region, same columns as the features file.

With the extra QCD sample the split is CATHODE's (arXiv:2109.00546, its public data preparation):
the mixture is every R&D background event plus ``n_sig`` signal events, shuffled, over the whole
mjj range; the extra QCD events are split at event 312,858, each part shuffled; the first 40,000
signal-region events of part 1 and the first 20,000 signal-region events of the signal not
injected form the labelled test set. The rest of part 1 is the idealized detector's background
(``background_reference``); part 2 and the rest of the signal form the supervised set
(``labelled``). Shuffles follow CATHODE's order with numpy's legacy generator seeded with
``seed`` (seed 1 keeps the signal in file order, as CATHODE does); for the same inputs the arrays equal
those of CATHODE's preparation. ``n_sig`` is CATHODE's (:func:`n_injected`: 1000 events at its
default S/B = 0.00636 on the full files). Smaller files (the shipped samples) get the same split
with each count capped at half of what they hold.

Without the extra sample the R&D background is shared out as in
:mod:`~hepbench.challenges.lhco.real_benchmark` (40% data, 20% background reference, 10%
labelled, 30% signal-region test set), with the same S/B injection.

tau21 = tau2 / (tau1 + 1e-5), as CATHODE computes it; masses in TeV, j1 the lighter jet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import write_table
from .dataset import LhcoDataset
from .protocol import AnomalyInputs
from .schema import COLUMNS, LABEL, MJJ, SIGNAL_REGION

FEATURE_COLUMNS: tuple[str, ...] = tuple(
    f"{q}j{j}" for j in (1, 2) for q in ("px", "py", "pz", "m", "tau1", "tau2", "tau3")
)
"""Columns of the official features files (GeV), besides ``label``."""
S_OVER_B_CATHODE = 0.006361658645922605
"""CATHODE's default: 1000 injected signal events on the full R&D files."""
EXTRA_SPLIT = 312_858
N_TEST_BACKGROUND = 40_000
N_TEST_SIGNAL = 20_000
_TAU_EPSILON = 1e-5
OFFICIAL_PRESET = "official"
"""``preset`` of an imported data folder's sidecars."""


def features_frame(raw: pd.DataFrame, where: str, *, require_label: bool = True) -> pd.DataFrame:
    """``schema.COLUMNS`` (TeV) + ``label`` from the columns of an official features file."""
    needed = [*FEATURE_COLUMNS, *([LABEL] if require_label else [])]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing} (not an LHCO features file)")
    values = raw[list(FEATURE_COLUMNS)].to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{where}: column {FEATURE_COLUMNS[col]!r} is not finite in row {row}")
    jet = values.reshape(len(raw), 2, 7)  # (event, jet, [px py pz m tau1 tau2 tau3])
    p, m = jet[:, :, :3], jet[:, :, 3]
    energy = np.sqrt((p**2).sum(axis=2) + m**2).sum(axis=1)
    mjj = np.sqrt(np.maximum(energy**2 - (p.sum(axis=1) ** 2).sum(axis=1), 0.0))
    tau21 = jet[:, :, 5] / (_TAU_EPSILON + jet[:, :, 4])
    light = np.argmin(m, axis=1)
    heavy = 1 - light
    idx = np.arange(len(raw))
    out = pd.DataFrame(
        {
            MJJ: mjj / 1000.0,
            "mj1": m[idx, light] / 1000.0,
            "delta_m": (m[idx, heavy] - m[idx, light]) / 1000.0,
            "tau21_j1": tau21[idx, light],
            "tau21_j2": tau21[idx, heavy],
        }
    )
    labels = raw[LABEL].to_numpy() if LABEL in raw.columns else np.zeros(len(raw))
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{where}: column 'label' must be 0 or 1")
    out[LABEL] = labels.astype(np.int8)
    return out


def read_features_file(path: str | Path, *, require_label: bool = True) -> pd.DataFrame:
    """An official features file as ``schema.COLUMNS`` + ``label`` (label 0 when the file has none)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such LHCO features file")
    try:
        raw = pd.read_hdf(path)
    except (ValueError, KeyError, OSError, TypeError) as err:
        raise ValueError(f"{path}: not a readable pandas HDF5 file with one table ({err})") from None
    if not isinstance(raw, pd.DataFrame):
        raise ValueError(f"{path}: holds a {type(raw).__name__}, not a table")
    return features_frame(raw, str(path), require_label=require_label)


def is_particle_file(path: Path) -> bool:
    """Whether ``path`` is an R&D particle file (key ``df``, 3 columns per particle + label)."""
    try:
        with pd.HDFStore(path, mode="r") as store:
            if "/df" not in store:
                return False
        first = pd.read_hdf(path, key="df", start=0, stop=1)
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return isinstance(first, pd.DataFrame) and first.shape[1] % 3 == 1 and first.shape[1] > 100


def read_official_events(path: str | Path, *, client: Any = None) -> pd.DataFrame:
    """``schema.COLUMNS`` + ``label`` of an official R&D file: the features file, or the particle
    file (jets clustered by ``real_data.read_rnd_events``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected an LHCO R&D .h5 file)")
    if is_particle_file(path):
        from .real_data import read_rnd_events

        events = read_rnd_events(path, client=client)
        return events[[*COLUMNS, LABEL]].reset_index(drop=True)
    return read_features_file(path)


def _in_sr(frame: pd.DataFrame) -> np.ndarray:
    lo, hi = SIGNAL_REGION
    mjj = frame[MJJ].to_numpy()
    return (mjj > lo) & (mjj < hi)


def _shuffled(frame: pd.DataFrame, rs: np.random.RandomState) -> pd.DataFrame:
    order = np.arange(len(frame))
    rs.shuffle(order)
    return frame.iloc[order].reset_index(drop=True)


def n_injected(background: pd.DataFrame, signal: pd.DataFrame, s_over_b: float) -> int:
    """Signal events to inject for ``s_over_b`` in the signal region, as CATHODE computes it:
    ``int(S/B x 1000 / c)`` with ``c`` the S/B of the file's first 1000 signal events against all
    background in the signal region (772 / 121,352 = 0.0063617 on the full R&D files); a file
    with fewer signal events uses all of them in place of 1000. ``signal`` in file order."""
    if not 0 < s_over_b < 1:
        raise ValueError(f"--signal-over-background must be in (0, 1), got {s_over_b}")
    first = signal.iloc[:1000]
    n_background = int(_in_sr(background).sum())
    n_first = int(_in_sr(first).sum())
    if n_first == 0 or n_background == 0:
        raise ValueError("the file has no signal or no background event in the signal region (3.3 < mjj < 3.7 TeV)")
    return int(s_over_b * len(first) / (n_first / n_background))


def cathode_split(events: pd.DataFrame, extra: pd.DataFrame, s_over_b: float, seed: int) -> LhcoDataset:
    """CATHODE's split of the R&D events with the extra QCD sample (see the module docstring)."""
    rs = np.random.RandomState(seed)
    background = events[events[LABEL] == 0].reset_index(drop=True)
    signal = events[events[LABEL] == 1].reset_index(drop=True)
    n_sig = n_injected(background, signal, s_over_b)
    if seed != 1:
        signal = _shuffled(signal, rs)
    if n_sig >= len(signal) // 2:
        raise ValueError(f"S/B {s_over_b} needs {n_sig} signal events; the file has {len(signal)}")
    data = _shuffled(pd.concat([background, signal.iloc[:n_sig]], ignore_index=True), rs)
    split = min(EXTRA_SPLIT, len(extra) // 2)
    extra1 = _shuffled(extra.iloc[:split], rs)
    extra2 = _shuffled(extra.iloc[split:], rs)
    inner1, inner2 = extra1[_in_sr(extra1)], extra2[_in_sr(extra2)]
    rest = signal.iloc[n_sig:]
    extra_signal = rest[_in_sr(rest)]
    n_bkg_test = min(N_TEST_BACKGROUND, len(inner1) // 2)
    n_sig_test = min(N_TEST_SIGNAL, len(extra_signal) // 2)
    test = pd.concat([inner1.iloc[:n_bkg_test], extra_signal.iloc[:n_sig_test]], ignore_index=True)
    labelled = pd.concat([extra_signal.iloc[n_sig_test:], inner2], ignore_index=True)
    inputs = AnomalyInputs(
        data=data[list(COLUMNS)],
        background_reference=inner1.iloc[n_bkg_test:][list(COLUMNS)].reset_index(drop=True),
        labelled=labelled[[*COLUMNS, LABEL]],
    )
    return LhcoDataset(inputs, data[LABEL], test[[*COLUMNS, LABEL]], OFFICIAL_PRESET, seed, n_sig)


def plain_split(events: pd.DataFrame, s_over_b: float, seed: int) -> LhcoDataset:
    """The R&D events alone, shared out as ``real_benchmark`` does (no extra QCD sample)."""
    from .real_benchmark import real_subset_dataset

    frame = events.assign(tau_valid_j1=True, tau_valid_j2=True)
    made = real_subset_dataset(frame, seed, s_over_b)
    return LhcoDataset(made.inputs, made.data_truth, made.test, OFFICIAL_PRESET, seed, made.n_signal)


def write_lhco_folder(dataset: LhcoDataset, out: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """Write ``dataset`` as ``hepbench data generate`` does (same files, same sidecar keys)."""
    inputs = dataset.inputs
    assert inputs.background_reference is not None and inputs.labelled is not None
    frames = {
        "data": inputs.data[list(COLUMNS)],
        "data_truth": dataset.data_truth.to_frame(LABEL).reset_index(drop=True),
        "background_reference": inputs.background_reference[list(COLUMNS)],
        "labelled": inputs.labelled[[*COLUMNS, LABEL]],
        "test": dataset.test[[*COLUMNS, LABEL]],
    }
    labels = {"data": dataset.data_truth, "labelled": inputs.labelled[LABEL], "test": dataset.test[LABEL]}
    files = {}
    for split, frame in frames.items():
        counts = labels.get(split if split != "data_truth" else "data")
        meta: dict[str, Any] = {
            "challenge": "lhco",
            "generator": "hepbench.challenges.lhco.official",
            "preset": OFFICIAL_PRESET,
            "split": split,
            "seed": dataset.seed,
            "units": "TeV",
            "signal_region": list(SIGNAL_REGION),
            "n_signal": dataset.n_signal,
            **provenance,
        }
        if counts is not None:
            meta["events_per_label"] = {str(int(k)): int(v) for k, v in counts.value_counts().items()}
        write_table(frame.reset_index(drop=True), out / f"{split}.parquet", meta)
        if split != "data_truth":
            n_sig = int(counts.sum()) if counts is not None else 0
            files[split] = {"background": len(frame) - n_sig, "signal": n_sig}
    return files


def import_lhco(
    official: str | Path,
    out: str | Path,
    *,
    seed: int = 1,
    signal_over_background: float = S_OVER_B_CATHODE,
    extra_qcd: str | Path | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Turn an official R&D file (features or particles) and, optionally, the extra QCD sample
    into a data folder ``out``; returns the summary ``hepbench data generate`` prints."""
    official, out = Path(official), Path(out)
    events = read_official_events(official, client=client)
    provenance: dict[str, Any] = {
        "source": "official",
        "official_files": [official.name],
        "signal_over_background": signal_over_background,
    }
    if extra_qcd is not None:
        extra = read_features_file(extra_qcd, require_label=False)
        dataset = cathode_split(events, extra, signal_over_background, seed)
        provenance["official_files"].append(Path(extra_qcd).name)
        provenance["split_rule"] = "CATHODE (arXiv:2109.00546)"
    else:
        dataset = plain_split(events, signal_over_background, seed)
        provenance["split_rule"] = "hepbench real benchmark shares (no extra QCD sample)"
    files = write_lhco_folder(dataset, out, provenance)
    return {"files": files, "n_signal": dataset.n_signal, "split_rule": provenance["split_rule"]}
