"""The official data sets of the three challenges: where they are published, and getting them.

:data:`DATASETS` lists every official file with its record (DOI), size and the checksum its
publisher's record gives (Zenodo publishes md5; ``sha256`` where known). Every digest carries
the address of the public source it was taken from (``checksum_source``); a value no public
source gives is ``None``: then :func:`fetch` computes and prints the file's sha256 after the
download and reports the file as *unverified*, never as verified. :data:`UNPUBLISHED` names those
files; ``docs/official_data.md`` lists every digest with its source and what was searched for the
others.

:func:`fetch` downloads with pooch (to a temporary name, moved into place only once its checksum
matches), or, with ``from_dir``, takes files already downloaded (no network), checks them and
links them into the target folder. ``hepbench data import`` then turns them into a data folder.

Parquet data files hepbench writes itself, with their sidecars, are :mod:`hepbench.datafiles`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_OFFICIAL_ROOT = Path("hepbench-data") / "official"
"""Where ``hepbench data fetch`` puts a data set's files unless ``--to`` says otherwise."""


@dataclass(frozen=True)
class OfficialFile:
    """One published file."""

    name: str
    """File name as published (kept: the importers recognise files by it)."""
    description: str
    size: int | None = None
    """Bytes, as the record states; ``None`` when not known."""
    md5: str | None = None
    sha256: str | None = None
    url: str = ""
    """Download address (filled from the data set's record when empty)."""
    checksum_source: str = ""
    """Where this file's digests come from (public addresses); the data set's when empty."""

    @property
    def digests(self) -> tuple[str, ...]:
        """Every known digest in pooch's ``ALG:HEX`` form (sha256 first)."""
        return tuple(f"{alg}:{hex_}" for alg, hex_ in (("sha256", self.sha256), ("md5", self.md5)) if hex_)

    @property
    def known_hash(self) -> str | None:
        """The checksum in pooch's ``ALG:HEX`` form (sha256 preferred), or ``None``."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


@dataclass(frozen=True)
class OfficialDataset:
    """A group of files from one record, fetched together (or file by file with ``names``)."""

    name: str
    challenge: str
    title: str
    record_url: str
    doi: str
    files: tuple[OfficialFile, ...]
    checksum_source: str = ""
    """Where the checksums come from."""

    def file_url(self, file: OfficialFile) -> str:
        return file.url or f"{self.record_url}/files/{file.name}?download=1"

    def checksum_source_of(self, file: OfficialFile) -> str | None:
        """Where ``file``'s digests come from, or ``None`` when it has none."""
        if file.known_hash is None:
            return None
        return file.checksum_source or self.checksum_source or None


_CALO_MD5_SOURCE = (
    "md5 as verified by the download code of public CaloChallenge analyses (two independent "
    "repositories agree); sizes not published here"
)

# Sources are commit permalinks, so they keep saying what they said when the digests were taken.
_FAIR_SOURCE = (
    "sha256 and md5 from the organisers' Croissant metadata of the record, https://github.com/"
    "FAIR-Universe/FAIR_Universe_dataset/blob/01160f0a9859098375529241252a9e66cc4589c6/data.croissant.json "
    "(sha256 corrected there on 2025-05-14, md5 unchanged); the same sha256 was computed on a "
    "download of the record by an independent analysis, https://github.com/roberto-fernandez-barrios/"
    "qevc/blob/5abb62bfa7eaa420a6b799c9cf1c69624b530a6b/docs/dataset_audit.md"
)
_LHCO_FEATURES_SOURCE = (
    "md5 verified by the download code of two independent public analyses of record 6466204, "
    "https://github.com/HaronJadid/quantum-autoencoder-hep-anomaly-detection/blob/"
    "08d4c96485763b228f124491857e0c8b7fcb9ba4/src/data.py and https://github.com/pixele8/ratecert-hep/"
    "blob/b33d59987cb4ab3f5a4d21bdcd656be4b1e5d6d2/src/ratecert/public_data.py; sha256 from the latter's "
    "README, https://github.com/pixele8/ratecert-hep/blob/0cbdf0307ffa26e2e8f1cca2b060070970c9bbfb/"
    "README.md; size: Zenodo's Content-Length for the same file on the earlier version 4536377 in "
    "https://github.com/hep-lbdl/PAWS/blob/0ce84f7c27357f2224cf8c921beb771eb6957201/tutorials/"
    "T01-DataPreparation.ipynb (74.3 MB quoted for version 6466204)"
)
_LHCO_PARTICLES_SOURCE = (
    "sha256 in the DataDeps.jl registration (a download that mismatches it is flagged) of a public "
    "analysis that uses the file from record 6466204, https://github.com/aicenter/GroupAD.jl/blob/"
    "0404ff60cc57da6dc6b048f8afab7ab4c97edd2f/src/data.jl; one source"
)

DATASETS: dict[str, OfficialDataset] = {
    "fair-universe": OfficialDataset(
        "fair-universe",
        "higgs-uncertainty",
        "FAIR Universe HiggsML Uncertainty challenge, public data (parquet + metadata, zipped, ~15 GB)",
        "https://zenodo.org/records/15131565",
        "10.5281/zenodo.15131565",
        (
            OfficialFile(
                "FAIR_Universe_HiggsML_data.zip",
                "FAIR_Universe_HiggsML_data.parquet (28 features, weights, labels, detailed_labels) "
                "and its metadata JSON",
                md5="7fb2a4f2b73bb8dcdaa6ffc0fe67e96e",
                sha256="adaa3dd81a02663051aa93f960bc1c5ee67a78d25c091015bb020b1f9cd7dcb5",
            ),
        ),
        _FAIR_SOURCE,
    ),
    # Version 5 of the R&D record (doi:10.5281/zenodo.6466204, same authors and file names as the
    # earlier version 4536377): the version whose files public loaders verify by checksum.
    "lhco-rnd": OfficialDataset(
        "lhco-rnd",
        "lhco",
        "LHC Olympics 2020 R&D set: 1M QCD dijets + 100k W' -> X(500) Y(100) events",
        "https://zenodo.org/records/6466204",
        "10.5281/zenodo.6466204",
        (
            OfficialFile(
                "events_anomalydetection_v2.h5",
                "particles: 700 x (pT, eta, phi) per event + label (pandas HDF5, key df)",
                sha256="5da8fda2ca78edf8fa5acc0af92fcb6a2d464ba7bf0fd75e3944a169b88cecc6",
                checksum_source=_LHCO_PARTICLES_SOURCE,
            ),
            OfficialFile(
                "events_anomalydetection_v2.features.h5",
                "jet features: p(x,y,z), m, tau1-3 of the two leading jets + label (GeV)",
                size=74_315_238,
                md5="271cf5e71fc756b2a8d2b32730689bdb",
                sha256="933b1f11d7b66e6dae0ee2878723f8f5d7ab0f38399806f2d067c5cfd9a502b1",
                checksum_source=_LHCO_FEATURES_SOURCE,
            ),
        ),
    ),
    "lhco-extra-qcd": OfficialDataset(
        "lhco-extra-qcd",
        "lhco",
        "LHC Olympics 2020 R&D: extra QCD dijets inside the signal region (as used by CATHODE)",
        "https://zenodo.org/records/5759087",
        "10.5281/zenodo.5759087",
        (
            OfficialFile(
                "events_anomalydetection_qcd_extra_inneronly_features.h5",
                "jet features of extra QCD events with 3.3 < mjj < 3.7 TeV (same columns as the R&D features)",
            ),
        ),
    ),
    "lhco-black-boxes": OfficialDataset(
        "lhco-black-boxes",
        "lhco",
        "LHC Olympics 2020 black boxes 1-3 (1M events each) and the keys of boxes 1 and 3",
        "https://zenodo.org/records/4536624",
        "10.5281/zenodo.4536624",
        (
            OfficialFile("events_LHCO2020_BlackBox1.h5", "black box 1: 700 x (pT, eta, phi) per event, no label"),
            OfficialFile("events_LHCO2020_BlackBox2.h5", "black box 2 (no signal): particles, no label"),
            OfficialFile("events_LHCO2020_BlackBox3.h5", "black box 3: particles, no label"),
            OfficialFile("events_LHCO2020_BlackBox1.masterkey", "truth of box 1, one label per line (0 / 1)"),
            OfficialFile("events_LHCO2020_BlackBox3.masterkey", "truth of box 3, one label per line (0 / 1 / 2)"),
        ),
    ),
    "calo-ds1-photons": OfficialDataset(
        "calo-ds1-photons",
        "calo",
        "CaloChallenge 2022 data set 1, photons (368 voxels); _1 training, _2 evaluation",
        "https://zenodo.org/records/8099322",
        "10.5281/zenodo.8099322",
        (
            OfficialFile("dataset_1_photons_1.hdf5", "training showers", md5="005d2adeda7db034b388112661265656"),
            OfficialFile("dataset_1_photons_2.hdf5", "evaluation showers", md5="4767715ed56e99565fd9c67340661e70"),
        ),
        _CALO_MD5_SOURCE,
    ),
    "calo-ds1-pions": OfficialDataset(
        "calo-ds1-pions",
        "calo",
        "CaloChallenge 2022 data set 1, pions (533 voxels); _1 training, _2 evaluation",
        "https://zenodo.org/records/8099322",
        "10.5281/zenodo.8099322",
        (
            OfficialFile("dataset_1_pions_1.hdf5", "training showers", md5="6a5f52722064a1bcd8a0bc002f16515d"),
            OfficialFile("dataset_1_pions_2.hdf5", "evaluation showers", md5="fee7457b40127bc23c8ab909e2638ca0"),
        ),
        _CALO_MD5_SOURCE,
    ),
    "calo-ds2": OfficialDataset(
        "calo-ds2",
        "calo",
        "CaloChallenge 2022 data set 2, electrons (6,480 voxels); _1 training, _2 evaluation",
        "https://zenodo.org/records/6366271",
        "10.5281/zenodo.6366271",
        (
            OfficialFile("dataset_2_1.hdf5", "training showers (100k)", md5="e590333e9a2da51b258288d74bd8357a"),
            OfficialFile("dataset_2_2.hdf5", "evaluation showers (100k)", md5="7a56fd68aa53ded37c2ac445694d9736"),
        ),
        _CALO_MD5_SOURCE,
    ),
    "calo-ds3": OfficialDataset(
        "calo-ds3",
        "calo",
        "CaloChallenge 2022 data set 3, electrons (40,500 voxels); _1, _2 training, _3, _4 evaluation",
        "https://zenodo.org/records/6366324",
        "10.5281/zenodo.6366324",
        (
            OfficialFile("dataset_3_1.hdf5", "training showers (50k)", md5="d33f03418aa311b0965452fcbef1ff87"),
            OfficialFile("dataset_3_2.hdf5", "training showers (50k)", md5="911dec2c40aafa64a07b7450b80881bf"),
            OfficialFile("dataset_3_3.hdf5", "evaluation showers (50k)", md5="5ea62f6831a1821bb5035fafc9f030e8"),
            OfficialFile("dataset_3_4.hdf5", "evaluation showers (50k)", md5="5e8d82e6a6c28c6914a3b602a1cfa299"),
        ),
        _CALO_MD5_SOURCE,
    ),
}
"""The official data sets by name."""

UNPUBLISHED: frozenset[str] = frozenset(
    {
        "events_anomalydetection_qcd_extra_inneronly_features.h5",
        "events_LHCO2020_BlackBox1.h5",
        "events_LHCO2020_BlackBox2.h5",
        "events_LHCO2020_BlackBox3.h5",
        "events_LHCO2020_BlackBox1.masterkey",
        "events_LHCO2020_BlackBox3.masterkey",
    }
)
"""Official files for which no public source gives a digest (what was searched:
``docs/official_data.md``); they are fetched, their sha256 printed, and reported UNVERIFIED."""


class OfficialDataError(ValueError):
    """A requested data set or file is unknown, missing, or fails its checksum."""


def get_dataset(name: str) -> OfficialDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise OfficialDataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def registry_rows() -> list[dict[str, Any]]:
    """One row per official file: data set, challenge, file, record, DOI, URL, size (bytes), md5,
    sha256, the digest a fetch checks, whether it is verified, and where its digests come from."""
    return [
        {
            "dataset": ds.name,
            "challenge": ds.challenge,
            "file": f.name,
            "record": ds.record_url,
            "doi": ds.doi,
            "url": ds.file_url(f),
            "size": f.size,
            "md5": f.md5,
            "sha256": f.sha256,
            "checked": f.known_hash,
            "verified": f.known_hash is not None,
            "description": f.description,
            "checksum_source": ds.checksum_source_of(f),
        }
        for ds in DATASETS.values()
        for f in ds.files
    ]


def file_digest(path: str | Path, algorithm: str = "sha256", chunk_bytes: int = 1 << 20) -> str:
    """Hex digest of a file's bytes (``algorithm``: any of :mod:`hashlib`'s, e.g. md5, sha256)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def _check_hash(path: Path, file: OfficialFile, where: str) -> None:
    expected = file.known_hash
    if expected is None:
        return
    algorithm, hex_value = expected.split(":", 1)
    actual = file_digest(path, algorithm)
    if actual != hex_value:
        raise OfficialDataError(
            f"{where}: {algorithm} {actual} does not match the published {hex_value}; "
            "the file is corrupt, truncated or not the official one"
        )


def _select(dataset: OfficialDataset, names: Sequence[str] | None) -> list[OfficialFile]:
    if not names:
        return list(dataset.files)
    by_name = {f.name: f for f in dataset.files}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise OfficialDataError(f"{dataset.name} has no file {unknown[0]!r}; its files: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def _place(source: Path, target: Path) -> str:
    """Hard-link ``source`` to ``target`` (a copy across file systems); returns how."""
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
        how = "linked"
    except OSError:
        shutil.copyfile(source, tmp)
        how = "copied"
    tmp.replace(target)
    return how


class _RichProgress:
    """A pooch progress bar (tqdm's ``total`` / ``n`` / ``update`` / ``reset`` / ``close``) on rich."""

    def __init__(self, progress: Any, description: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=None)
        self.n = 0

    @property
    def total(self) -> int | None:
        return self._progress.tasks[self._task].total

    @total.setter
    def total(self, value: int | None) -> None:
        self._progress.update(self._task, total=value or None)

    def update(self, n: int) -> None:
        self.n += int(n)
        self._progress.update(self._task, completed=self.n)

    def reset(self) -> None:
        self.n = 0
        self._progress.reset(self._task)

    def close(self) -> None:
        self._progress.update(self._task, completed=self.n)


def fetch(
    dataset: str | OfficialDataset,
    to: str | Path | None = None,
    *,
    from_dir: str | Path | None = None,
    names: Sequence[str] | None = None,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Put the files of ``dataset`` (all, or those named in ``names``) into ``to``.

    Downloads with pooch, or with ``from_dir`` takes the files already downloaded there (no
    network) and hard-links (else copies) them. A file whose published checksum does not match
    raises :class:`OfficialDataError` and is not left in ``to``. A file without a published
    checksum is kept, its sha256 computed and reported as unverified. ``to`` defaults to
    ``hepbench-data/official/NAME``. Returns one row per file: name, path, sha256, verified, how.
    """
    spec = get_dataset(dataset) if isinstance(dataset, str) else dataset
    files = _select(spec, names)
    target = Path(to) if to is not None else DEFAULT_OFFICIAL_ROOT / spec.name
    target.mkdir(parents=True, exist_ok=True)
    say = report or (lambda line: None)
    rows = []
    for file in files:
        dest = target / file.name
        if from_dir is not None:
            source = Path(from_dir) / file.name
            if not source.is_file():
                raise OfficialDataError(f"{source}: no such file (expected the official {file.name} of {spec.name})")
            _check_hash(source, file, str(source))
            how = "already there" if dest.exists() and dest.samefile(source) else _place(source, dest)
        else:
            how = _download(spec, file, dest, progress)
        sha256 = file.sha256 or file_digest(dest)
        verified = file.known_hash is not None
        if not verified:
            say(
                f"{dest}: no published checksum for {file.name}; sha256 {sha256} computed here, "
                "the file is NOT verified"
            )
        rows.append({"file": file.name, "path": dest, "sha256": sha256, "verified": verified, "how": how})
    return rows


def _download(spec: OfficialDataset, file: OfficialFile, dest: Path, progress: bool) -> str:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # the progress bar says what is downloaded
    url = spec.file_url(file)
    if dest.exists() and file.known_hash is not None:
        try:
            _check_hash(dest, file, str(dest))
            return "already there"
        except OfficialDataError:
            dest.unlink()  # an old partial or altered copy: download it again
    bar_context: Any
    if progress:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        from .output import console

        bar_context = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
    else:
        from contextlib import nullcontext

        bar_context = nullcontext()
    with bar_context as bars:
        bar = _RichProgress(bars, file.name) if progress else False
        try:
            pooch.retrieve(
                url,
                known_hash=file.known_hash,
                fname=file.name,
                path=dest.parent,
                progressbar=bar,
            )
        except ValueError as err:
            if "hash" in str(err).lower():
                raise OfficialDataError(
                    f"{url}: the downloaded file does not match the published checksum {file.known_hash}; "
                    f"nothing was written to {dest}"
                ) from None
            raise OfficialDataError(f"{url}: {' '.join(str(err).split())}") from None
        except OSError as err:
            raise OfficialDataError(f"{url}: download failed ({' '.join(str(err).split())})") from None
        except Exception as err:  # requests' HTTP errors (404, refused connection) are not OSError
            raise OfficialDataError(f"{url}: download failed ({type(err).__name__}: {err})") from None
    return "downloaded"
