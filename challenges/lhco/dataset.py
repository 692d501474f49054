"""Generate, write and load an LHCO anomaly-detection data set.

Files in ``DIR`` (parquet, each with a JSON sidecar: generator version and parameters,
preset, seed, counts, sha256):

- ``data.parquet``: the unlabelled mixture (``schema.COLUMNS``, TeV), signal and background
  shuffled together. Its truth is ``data_truth.parquet`` (``label``, same row order), which a
  detector is never given;
- ``background_reference.parquet``: independent background (idealized detector only);
- ``labelled.parquet``: signal and background with ``label`` (supervised upper bound only);
- ``test.parquet``: labelled events inside the signal region, for scoring.

With ``constituents=N`` every split also gets ``SPLIT_particles.parquet``: the particles of the
two jets of each event (same row order), up to N per jet, in the particle-level schema
(``schema.particle_columns``, pT in GeV; ``particles.event_particles``). Loading attaches those
columns to the split's table.

``data`` and ``test`` play the role of the real detector: a systematic shift
(``systematics.Systematics``) applies to them and not to the simulated ``background_reference``
and ``labelled``; the correlated-feature variant applies to every file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import DataFileError, read_table, write_table
from .generator import GENERATOR_VERSION, SignalModel, generate_events, generate_in_window, model_parameters
from .particles import event_particles, particle_frame
from .presets import Preset, get_preset
from .protocol import AnomalyInputs
from .schema import COLUMNS, LABEL, SIGNAL_REGION, n_particles, particle_columns
from .systematics import Systematics, apply_systematics

FILES: tuple[str, ...] = ("data", "data_truth", "background_reference", "labelled", "test")
_SPLIT_INDEX = {"data": 0, "background_reference": 1, "labelled": 2, "test": 3, "validation": 4}


def split_seed(seed: int, split: str) -> int:
    """Independent generator seed of one split, derived from the data set seed."""
    state = np.random.SeedSequence([seed, 7, _SPLIT_INDEX[split]]).generate_state(1, dtype=np.uint32)
    return int(state[0])


@dataclass(frozen=True)
class LhcoDataset:
    """A generated (or loaded) data set; ``data_truth`` and ``test`` are the organiser's."""

    inputs: AnomalyInputs
    data_truth: pd.Series
    """``label`` of each row of ``inputs.data`` (1 signal)."""
    test: pd.DataFrame
    """Labelled signal-region events (``schema.COLUMNS`` + ``label``)."""
    preset: str
    seed: int
    n_signal: int


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    order = np.random.default_rng(np.random.SeedSequence([seed, 99])).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def generate_frames(
    spec: Preset,
    seed: int,
    *,
    n_signal: int | None = None,
    signal: SignalModel = SignalModel(),
    shift: Systematics = Systematics(),
    correlated: bool = False,
    client: Any = None,
    constituents: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The four splits with labels and extra columns (before any column selection); with
    ``constituents`` (particles per jet) also the particle-level columns."""
    n_sig = spec.n_signal if n_signal is None else n_signal
    correlation = Systematics(mass_mjj_correlation=0.1 if correlated else 0.0)
    data_shift = Systematics(
        shift.jet_energy_scale, shift.jet_mass_scale, shift.tau21_shift, correlation.mass_mjj_correlation
    )
    frames = {
        "data": generate_events(spec.n_background, n_sig, split_seed(seed, "data"), signal=signal, client=client),
        "background_reference": generate_events(
            spec.n_reference, 0, split_seed(seed, "background_reference"), client=client
        ),
        "labelled": generate_events(
            spec.labelled_background, spec.labelled_signal, split_seed(seed, "labelled"), signal=signal, client=client
        ),
    }
    frames["test"] = signal_region_sample(spec, split_seed(seed, "test"), signal=signal, data_shift=data_shift)
    out = {}
    for split, frame in frames.items():
        if split != "test":  # already shifted
            frame = apply_systematics(frame, data_shift if split == "data" else correlation)
        # Particles built from the observed (shifted) features match what the file says.
        out[split] = _with_particles(_shuffled(frame, split_seed(seed, split)), seed, split, constituents)
    return out


def signal_region_sample(
    spec: Preset, seed: int, *, signal: SignalModel = SignalModel(), data_shift: Systematics = Systematics()
) -> pd.DataFrame:
    """Labelled signal-region events as the detector observes them (``spec.test_background``
    background and ``spec.test_signal`` signal events, columns with ``label``): shifted by
    ``data_shift`` first, then cut, so the sample lies in the *observed* signal region."""

    def observe(frame: pd.DataFrame) -> pd.DataFrame:
        return apply_systematics(frame, data_shift)

    return pd.concat(
        [
            generate_in_window("background", spec.test_background, seed, SIGNAL_REGION, transform=observe),
            generate_in_window("signal", spec.test_signal, seed, SIGNAL_REGION, signal=signal, transform=observe),
        ],
        ignore_index=True,
    )


def is_correlated(data_dir: str | Path) -> bool:
    """Whether the data folder holds the correlated-feature variant (its ``data.json`` sidecar)."""
    import json

    try:
        return bool(json.loads((Path(data_dir) / "data.json").read_text()).get("correlated", False))
    except (OSError, ValueError, AttributeError):
        return False


def validation_sample(data_dir: str | Path) -> pd.DataFrame:
    """An independent labelled signal-region sample for tuning (``hepbench baseline tune``): the
    test set's sizes, signal model and systematic shift, from the split seed ``validation``, so
    it shares no event with the test set (which it never reads)."""
    meta = read_table(Path(data_dir) / "data.parquet").attrs["metadata"]
    shift = Systematics(**meta.get("systematics", {}))
    data_shift = Systematics(
        shift.jet_energy_scale,
        shift.jet_mass_scale,
        shift.tau21_shift,
        0.1 if meta.get("correlated") else 0.0,
    )
    version = meta.get("generator_version")
    if version != GENERATOR_VERSION:
        raise ValueError(
            f"{Path(data_dir) / 'data.parquet'}: generator_version {version!r} is not this generator's "
            f"{GENERATOR_VERSION}; regenerate the data set to draw a matching validation sample"
        )
    signal = SignalModel(**meta.get("model", {}).get("signal", {}))
    frame = signal_region_sample(
        get_preset(meta["preset"]), split_seed(int(meta["seed"]), "validation"), signal=signal, data_shift=data_shift
    )
    return frame[[*COLUMNS, LABEL]]


def _with_particles(frame: pd.DataFrame, seed: int, split: str, constituents: int | None) -> pd.DataFrame:
    """``frame`` with the particle-level columns of ``constituents`` particles per jet (or as is)."""
    if constituents is None:
        return frame
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11, _SPLIT_INDEX[split]]))
    return pd.concat([frame, particle_frame(*event_particles(frame, constituents, rng))], axis=1)


def data_sample(
    preset: str,
    seed: int,
    *,
    constituents: int | None = None,
    correlated: bool = False,
    cache: str | Path | None = None,
) -> pd.DataFrame:
    """The ``data`` table of ``generate_dataset(preset, seed, constituents=..., correlated=...)``
    (no systematic shift, no truth columns) without generating the other splits; kept in
    ``cache`` (a parquet file with sidecar) when given, so repeated runs (the bump hunt's
    independent sample) make it once."""
    if cache is not None and Path(cache).exists():
        return read_table(cache)
    spec = get_preset(preset)
    frame = generate_events(spec.n_background, spec.n_signal, split_seed(seed, "data"))
    if correlated:
        frame = apply_systematics(frame, Systematics(mass_mjj_correlation=0.1))
    frame = _with_particles(_shuffled(frame, split_seed(seed, "data")), seed, "data", constituents)
    columns = [*COLUMNS, *([] if constituents is None else particle_columns(2 * constituents))]
    if cache is not None:
        meta = _metadata(
            spec, seed, "data", frame[columns], {"particles_per_jet": constituents, "correlated": correlated}
        )
        write_table(frame[columns], cache, meta)
    return frame[columns]


def _metadata(spec: Preset, seed: int, split: str, frame: pd.DataFrame, extra: dict[str, Any]) -> dict[str, Any]:
    counts = frame[LABEL].value_counts() if LABEL in frame else None
    return {
        "challenge": "lhco",
        "generator": "hepbench.challenges.lhco.generator",
        "generator_version": GENERATOR_VERSION,
        "preset": spec.name,
        "split": split,
        "seed": seed,
        "split_seed": split_seed(seed, "data" if split == "data_truth" else split),
        "units": "TeV",
        "signal_region": list(SIGNAL_REGION),
        **extra,
        **({"events_per_label": {str(int(k)): int(v) for k, v in counts.items()}} if counts is not None else {}),
    }


def generate_dataset(
    preset: str,
    seed: int,
    out_dir: str | Path | None = None,
    *,
    n_signal: int | None = None,
    signal: SignalModel = SignalModel(),
    shift: Systematics = Systematics(),
    correlated: bool = False,
    client: Any = None,
    truth_dir: str | Path | None = None,
    constituents: int | None = None,
) -> LhcoDataset:
    """Generate the data set of ``preset``; write its files under ``out_dir`` when given.

    ``n_signal`` overrides the preset's signal amount (0: no signal), ``signal`` the W' model,
    ``shift`` the systematic shift of the observed data, ``correlated`` switches on the
    correlated-feature variant. ``data_truth`` and ``test`` go to ``truth_dir`` when given
    (default ``out_dir``), so an organiser can keep them apart from what detectors see.
    ``constituents`` (particles per jet) adds the particle level (module doc).
    """
    spec = get_preset(preset)
    frames = generate_frames(
        spec,
        seed,
        n_signal=n_signal,
        signal=signal,
        shift=shift,
        correlated=correlated,
        client=client,
        constituents=constituents,
    )
    particle_cols = [] if constituents is None else particle_columns(2 * constituents)
    data = frames["data"]
    n_sig = int(data[LABEL].sum())
    if out_dir is not None:
        extra = {
            "model": model_parameters(signal),
            "n_signal": n_sig,
            "systematics": asdict(shift),
            "correlated": correlated,
            "particles_per_jet": constituents,
        }
        out_dir = Path(out_dir)
        truth_dir = out_dir if truth_dir is None else Path(truth_dir)
        write_table(
            data[list(COLUMNS)], out_dir / "data.parquet", _metadata(spec, seed, "data", data[list(COLUMNS)], extra)
        )
        write_table(data[[LABEL]], truth_dir / "data_truth.parquet", _metadata(spec, seed, "data_truth", data, extra))
        for split in ("background_reference", "labelled", "test"):
            columns = list(COLUMNS) if split == "background_reference" else [*COLUMNS, LABEL]
            where = truth_dir if split == "test" else out_dir
            write_table(
                frames[split][columns], where / f"{split}.parquet", _metadata(spec, seed, split, frames[split], extra)
            )
        if particle_cols:
            for split, frame in frames.items():
                where = truth_dir if split == "test" else out_dir
                meta = _metadata(spec, seed, split, frame[particle_cols], {**extra, "units": "GeV"})
                write_table(frame[particle_cols], where / f"{split}_particles.parquet", meta)
    inputs = AnomalyInputs(
        data=data[[*COLUMNS, *particle_cols]],
        background_reference=frames["background_reference"][[*COLUMNS, *particle_cols]],
        labelled=frames["labelled"][[*COLUMNS, LABEL, *particle_cols]],
    )
    test = frames["test"][[*COLUMNS, LABEL, *particle_cols]]
    return LhcoDataset(inputs, data[LABEL], test, spec.name, seed, n_sig)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    """A split's table with the checked ``columns``; its particle columns attached when the split
    has a ``*_particles.parquet`` file (same row order)."""
    frame = read_table(path)
    particles_path = path.with_name(f"{path.stem}_particles.parquet")
    if particles_path.exists():
        particles = read_table(particles_path)
        if len(particles) != len(frame):
            raise DataFileError(f"{particles_path}: {len(particles)} rows for {len(frame)} events in {path.name}")
        meta = frame.attrs.get("metadata", {})
        frame = pd.concat([frame, particles[particle_columns(n_particles(particles.columns))]], axis=1)
        frame.attrs["metadata"] = meta
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: missing column(s) {missing}")
    if not np.isfinite(frame[columns].to_numpy(dtype=np.float64)).all():
        raise DataFileError(f"{path}: non-finite values in {columns}")
    return frame


def load_inputs(data_dir: str | Path) -> AnomalyInputs:
    """What a detector may be given: ``data`` and, where present, ``background_reference``
    and ``labelled`` (checksums and columns checked)."""
    data_dir = Path(data_dir)
    data = _read(data_dir / "data.parquet", list(COLUMNS))
    optional = {}
    for split, columns in (("background_reference", list(COLUMNS)), ("labelled", [*COLUMNS, LABEL])):
        path = data_dir / f"{split}.parquet"
        optional[split] = _read(path, columns) if path.exists() else None
    particles = particle_columns(n_particles(data.columns))
    return AnomalyInputs(data=data[[*COLUMNS, *particles]], **optional)


def load_dataset(data_dir: str | Path, truth_dir: str | Path | None = None) -> LhcoDataset:
    """Load a written data set with its truth (``truth_dir`` defaults to ``data_dir``)."""
    data_dir = Path(data_dir)
    truth_dir = data_dir if truth_dir is None else Path(truth_dir)
    inputs = load_inputs(data_dir)
    truth = _read(truth_dir / "data_truth.parquet", [LABEL])
    test = _read(truth_dir / "test.parquet", [*COLUMNS, LABEL])
    if len(truth) != len(inputs.data):
        raise DataFileError(f"{truth_dir / 'data_truth.parquet'}: {len(truth)} labels for {len(inputs.data)} data rows")
    meta = inputs.data.attrs.get("metadata", {}) if hasattr(inputs.data, "attrs") else {}
    meta = meta or read_table(data_dir / "data.parquet", verify=False).attrs["metadata"]
    return LhcoDataset(inputs, truth[LABEL], test, meta["preset"], int(meta["seed"]), int(truth[LABEL].sum()))


def generate_with_summary(
    preset: str,
    seed: int,
    out_dir: str | Path,
    *,
    client: Any = None,
    constituents: int | None = None,
    correlated: bool = False,
) -> dict[str, Any]:
    """:func:`generate_dataset` into ``out_dir``; returns the background / signal count of each file."""
    made = generate_dataset(preset, seed, out_dir, client=client, constituents=constituents, correlated=correlated)
    files = {
        "data": made.data_truth,
        "background_reference": pd.Series(np.zeros(len(made.inputs.background_reference), dtype=np.int8)),
        "labelled": made.inputs.labelled[LABEL],
        "test": made.test[LABEL],
    }
    return {
        "files": {
            name: {"background": int((labels == 0).sum()), "signal": int((labels == 1).sum())}
            for name, labels in files.items()
        },
        "n_signal": made.n_signal,
    }
