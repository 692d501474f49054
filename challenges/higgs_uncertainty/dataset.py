"""Generate, write and load the train / test splits of a preset.

Files: ``DIR/train.parquet`` and ``DIR/test.parquet``, each with a JSON sidecar (generator
version, preset, seed, luminosity, events and summed weights per process, sha256).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import DataFileError, read_table, write_table
from .generator import GENERATOR_VERSION, generate_events
from .presets import Preset, get_preset
from .schema import FEATURES, LABEL_COLUMNS, PROCESSES

SPLITS: tuple[str, ...] = ("train", "test")


def split_seed(seed: int, split: str) -> int:
    """Independent generator seed of one split, derived from the data set seed."""
    state = np.random.SeedSequence([seed, SPLITS.index(split)]).generate_state(1, dtype=np.uint32)
    return int(state[0])


@dataclass(frozen=True)
class Dataset:
    """The weighted train and test splits of one generated (or loaded) data set."""

    train: pd.DataFrame
    test: pd.DataFrame
    preset: str
    seed: int


def split_mask(n_events: int, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask, shape (n_events,): the events of the first part of a random split that
    takes about ``fraction`` of them."""
    return np.random.default_rng(seed).random(n_events) < fraction


def weighted_part(train: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows of ``train`` under ``mask`` (a copy), each process's weights rescaled to its
    yield in the whole of ``train``, so that the part stands for the full luminosity."""
    part = train.loc[mask].copy()
    labels, weights = train["detailed_labels"].to_numpy(), train["weights"].to_numpy()
    part_labels = part["detailed_labels"].to_numpy()
    for process in PROCESSES:
        full = weights[labels == process].sum()
        sel = part_labels == process
        got = part["weights"].to_numpy()[sel].sum()
        if got > 0:
            part.loc[sel, "weights"] = part.loc[sel, "weights"].to_numpy() * (full / got)
    return part


def split_by_process(train: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a weighted set in two (:func:`split_mask`, :func:`weighted_part`); each part's
    weights rescaled to the full per-process yield. A caller that needs one part at a time
    takes the mask and builds each part when it needs it (a part of a large split is GBs)."""
    first = split_mask(len(train), fraction, seed)
    return weighted_part(train, first), weighted_part(train, ~first)


def generate_split(preset: Preset, split: str, seed: int, *, client: Any = None) -> pd.DataFrame:
    counts = preset.train_events if split == "train" else preset.test_events
    return generate_events(counts, seed=split_seed(seed, split), luminosity_fb=preset.luminosity_fb, client=client)


def split_metadata(frame: pd.DataFrame, preset: Preset, split: str, seed: int) -> dict:
    by_process = frame.groupby("detailed_labels", observed=True)["weights"]
    return {
        "challenge": "higgs-uncertainty",
        "generator": "hepbench.challenges.higgs_uncertainty.generator",
        "generator_version": GENERATOR_VERSION,
        "preset": preset.name,
        "split": split,
        "seed": seed,
        "split_seed": split_seed(seed, split),
        "luminosity_fb": preset.luminosity_fb,
        "events_per_process": {k: int(v) for k, v in by_process.size().items()},
        "sum_weights_per_process": {k: float(v) for k, v in by_process.sum().items()},
    }


def generate_dataset(preset: str, seed: int, out_dir: str | Path | None = None, *, client: Any = None) -> Dataset:
    """Generate both splits of ``preset``; write them under ``out_dir`` when given.

    ``client`` (a ``distributed.Client``) generates each split's processes on its workers;
    the files are byte-identical to the serial run's.
    """
    spec = get_preset(preset)
    frames = {split: generate_split(spec, split, seed, client=client) for split in SPLITS}
    dataset = Dataset(frames["train"], frames["test"], spec.name, seed)
    if out_dir is not None:
        write_dataset(dataset, out_dir)
    return dataset


def write_dataset(dataset: Dataset, out_dir: str | Path) -> Path:
    """Write both splits of a generated ``dataset`` (parquet with sidecars) into ``out_dir``."""
    spec = get_preset(dataset.preset)
    for split, frame in (("train", dataset.train), ("test", dataset.test)):
        write_table(frame, Path(out_dir) / f"{split}.parquet", split_metadata(frame, spec, split, dataset.seed))
    return Path(out_dir)


def load_dataset(data_dir: str | Path) -> Dataset:
    """Load a generated data set, checking checksums, columns and that both splits match."""
    data_dir = Path(data_dir)
    frames = {split: read_table(data_dir / f"{split}.parquet") for split in SPLITS}
    for split, frame in frames.items():
        missing = [c for c in (*FEATURES, *LABEL_COLUMNS) if c not in frame.columns]
        if missing:
            raise DataFileError(f"{data_dir / (split + '.parquet')}: missing column(s) {missing}")
    meta = {split: frames[split].attrs["metadata"] for split in SPLITS}
    if (meta["train"]["preset"], meta["train"]["seed"]) != (meta["test"]["preset"], meta["test"]["seed"]):
        raise DataFileError(f"{data_dir}: train and test come from different presets or seeds")
    return Dataset(frames["train"], frames["test"], meta["train"]["preset"], int(meta["train"]["seed"]))
