"""Small real samples of the public challenge data, shipped with the package.

Trimmed copies of the official files (formats unchanged) for the tests, ``hepbench data
validate`` and quick runs on real events; ``README.md`` beside this file says what each holds,
how it was trimmed, its source, licence and checksum. The full data sets are far larger and are
not shipped.

    >>> from hepbench import reference_data
    >>> reference_data.path("higgsml2014-csv").name
    'atlas-higgs-challenge-2014-v2.first10000.csv'
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One shipped sample: a file or a folder below this package."""

    relative: str
    """Path below the package folder, ``/``-separated."""
    description: str


SAMPLES: dict[str, Sample] = {
    "higgsml2014-csv": Sample(
        "higgsml2014/atlas-higgs-challenge-2014-v2.first10000.csv",
        "2014 ATLAS HiggsML challenge (CERN Open Data), first 10,000 rows: 3,372 s, 6,628 b",
    ),
    "fair-universe-parquet": Sample(
        "fair_universe/FAIR_Universe_HiggsML_data.sample1000.parquet",
        "FAIR Universe HiggsML Uncertainty challenge, 1,000 rows",
    ),
    "fair-universe-metadata": Sample(
        "fair_universe/FAIR_Universe_HiggsML_data_metadata.json",
        "FAIR Universe HiggsML Uncertainty challenge metadata (luminosity, sum_weights)",
    ),
    "lhco-events-tiny": Sample(
        "lhco2020/events_anomalydetection_tiny.h5",
        "LHC Olympics 2020 R&D set, first 1,000 events as particles (pandas HDF5, key df)",
    ),
    "lhco-highlevel-subset": Sample(
        "lhco2020/highlevel_subset",
        "folder: high-level features of 10,000 LHC Olympics 2020 R&D events (scalars_bkg/sig*.h5)",
    ),
    "calo-binning": Sample(
        "calochallenge",
        "folder: the four official CaloChallenge 2022 binning XMLs (binning_dataset_*.xml)",
    ),
}
"""The shipped samples by name."""


def path(name: str) -> Path:
    """The file or folder of the sample ``name`` (a key of :data:`SAMPLES`).

    Raises ``ValueError`` for an unknown name, with the known ones.
    """
    try:
        sample = SAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown reference sample {name!r}; known: {', '.join(SAMPLES)}") from None
    resource = files(__name__).joinpath(*sample.relative.split("/"))
    if not isinstance(resource, Path):  # e.g. a zip import: the loaders need real files
        raise RuntimeError(f"hepbench.reference_data is not installed as files on disk ({resource!r})")
    return resource
