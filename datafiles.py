"""Data files with a JSON sidecar: generator version, preset, seed and sha256 of the data.

Every data set hepbench writes is a parquet file ``NAME.parquet`` next to ``NAME.json``.
Reading checks the checksum, so a truncated or altered file is caught before it is used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class DataFileError(ValueError):
    """A data file is missing, corrupt, or does not match its sidecar."""


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def write_table(frame: pd.DataFrame, path: str | Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Write ``frame`` as parquet and its sidecar; returns the sidecar content.

    The sidecar holds ``metadata`` plus ``n_rows``, ``columns`` and ``sha256`` of the parquet
    bytes. Written to a temporary name first, so a crash never leaves a half-written file
    under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp, compression="zstd")
    sidecar = {**metadata, "n_rows": len(frame), "columns": list(frame.columns), "sha256": sha256_file(tmp)}
    tmp.replace(path)
    sidecar_path(path).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return sidecar


def read_sidecar(path: str | Path) -> dict[str, Any]:
    meta_path = sidecar_path(path)
    if not meta_path.exists():
        raise DataFileError(f"{meta_path}: sidecar missing (expected next to {Path(path).name})")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFileError(f"{meta_path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise DataFileError(f"{meta_path}: a sidecar holds one JSON object, found {type(meta).__name__}")
    return meta


def read_table(path: str | Path, *, verify: bool = True, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a parquet data file; with ``verify`` its sha256 must match the sidecar.

    The sidecar is attached as ``frame.attrs["metadata"]``.
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such data file")
    meta = read_sidecar(path)
    if verify:
        actual = sha256_file(path)
        if actual != meta.get("sha256"):
            raise DataFileError(
                f"{path}: sha256 {actual[:12]}... does not match the sidecar's "
                f"{str(meta.get('sha256'))[:12]}...; the file is corrupt or was modified"
            )
    try:
        frame = pd.read_parquet(path, columns=columns)
    except (OSError, pa.ArrowException) as err:
        raise DataFileError(f"{path}: unreadable parquet ({err})") from err
    frame.attrs["metadata"] = meta
    return frame


def folder_state(folder: str | Path, holds_data: Callable[[Path], bool]) -> str:
    """``"absent"``, ``"empty"``, ``"data"`` (``holds_data(folder)``: a data set hepbench wrote or
    imported) or ``"other"`` (files hepbench did not write: never generate into it)."""
    folder = Path(folder)
    if not folder.exists():
        return "absent"
    if not folder.is_dir():
        return "other"
    if holds_data(folder):
        return "data"
    return "empty" if not any(folder.iterdir()) else "other"


def require_data_folder(folder: str | Path, holds_data: Callable[[Path], bool], challenge: str) -> bool:
    """Whether ``folder`` holds a data set (``False``: absent or empty, free to generate into).

    Raises :class:`DataFileError` with a one-line reason for anything else, so that data are
    never generated into (or over) a folder of other files, e.g. downloaded official files.
    """
    state = folder_state(folder, holds_data)
    if state == "other":
        folder = Path(folder)
        what = "is a file" if folder.exists() and not folder.is_dir() else "is neither empty nor a hepbench data folder"
        raise DataFileError(
            f"{folder}: {what} for {challenge}; pass an empty folder, one written by `hepbench data generate` "
            f"or `hepbench data import {challenge} --official FILES --to {folder}`"
        )
    return state == "data"
