"""The shipped real samples: every name resolves, checksums match the README, the size stays small."""

from __future__ import annotations

import hashlib
import re

import pytest

from hepbench import reference_data


def test_every_sample_exists() -> None:
    for name in reference_data.SAMPLES:
        assert reference_data.path(name).exists(), name
    assert reference_data.path("lhco-highlevel-subset").is_dir()
    assert len(list(reference_data.path("calo-binning").glob("binning_*.xml"))) == 4


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown reference sample 'nope'; known: higgsml2014-csv"):
        reference_data.path("nope")


def test_checksums_and_size() -> None:
    root = reference_data.path("calo-binning").parent
    listed = dict(
        (path, digest)
        for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", (root / "README.md").read_text(), re.M)
    )
    shipped = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in {".csv", ".parquet", ".json", ".h5", ".xml"}
    }
    assert set(listed) == shipped
    for path, digest in listed.items():
        assert hashlib.sha256((root / path).read_bytes()).hexdigest() == digest, path
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) < 10_000_000
