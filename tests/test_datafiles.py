"""Parquet data files with checksummed sidecars."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hepbench.datafiles import DataFileError, read_table, sha256_file, write_table


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=100).astype(np.float32), "label": rng.integers(0, 2, 100)})


def test_round_trip_with_metadata(tmp_path) -> None:
    path = tmp_path / "train.parquet"
    meta = write_table(frame(), path, {"seed": 3, "generator_version": "1.0.0"})
    assert meta["sha256"] == sha256_file(path) and meta["n_rows"] == 100
    back = read_table(path)
    pd.testing.assert_frame_equal(back, frame())
    assert back.attrs["metadata"]["seed"] == 3
    assert not (tmp_path / "train.parquet.partial").exists()


def test_same_data_same_bytes(tmp_path) -> None:
    write_table(frame(), tmp_path / "a.parquet", {})
    write_table(frame(), tmp_path / "b.parquet", {})
    assert sha256_file(tmp_path / "a.parquet") == sha256_file(tmp_path / "b.parquet")


def test_corrupt_file_is_refused_with_its_name(tmp_path) -> None:
    path = tmp_path / "test.parquet"
    write_table(frame(), path, {})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"test\.parquet: sha256 .* does not match"):
        read_table(path)


def test_missing_or_broken_sidecar(tmp_path) -> None:
    path = tmp_path / "x.parquet"
    write_table(frame(), path, {})
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(DataFileError, match=r"x\.json: not valid JSON"):
        read_table(path)
    path.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(DataFileError, match=r"x\.json: a sidecar holds one JSON object, found list"):
        read_table(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(DataFileError, match="sidecar missing"):
        read_table(path)
    with pytest.raises(DataFileError, match="no such data file"):
        read_table(tmp_path / "nope.parquet")


def test_truncated_parquet_with_matching_checksum_is_reported(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    write_table(frame(), path, {})
    path.write_bytes(path.read_bytes()[:50])
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["sha256"] = sha256_file(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(DataFileError, match=r"t\.parquet: unreadable parquet"):
        read_table(path)
