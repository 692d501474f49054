"""Code bundles: a submission folder (``model.py`` and what it needs) packed as ``.tar.gz`` or
``.zip``, as ``hepbench submit`` sends a folder and the leaderboard's workers unpack it.

Unpacking is bounded and refuses what could escape the target folder: absolute names, ``..``,
links, devices, more than ``MAX_FILES`` files or ``MAX_CODE_BYTES`` in all (sizes from the
archive's index, checked before anything is written).
"""

from __future__ import annotations

import contextlib
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from .runner import MAX_CODE_BYTES, code_files

BUNDLE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
MAX_FILES = 1000


def is_bundle(path: str | Path) -> bool:
    """A code bundle (``.tar.gz``, ``.tgz``, ``.zip``)."""
    name = Path(path).name.lower()
    return name.endswith(BUNDLE_SUFFIXES)


def is_image_tar(path: str | Path) -> bool:
    """An image as ``docker save`` writes it (``.tar``)."""
    return Path(path).name.lower().endswith(".tar")


def bundle_folder(folder: str | Path, out: str | Path) -> Path:
    """``folder``'s code files (as a code submission stages them) packed into ``out`` (.tar.gz)."""
    folder, out = Path(folder), Path(out)
    if not (folder / "model.py").is_file():
        raise FileNotFoundError(f"{folder / 'model.py'}: a code submission needs a model.py with a Model class")
    with tarfile.open(out, "w:gz") as tar:
        for path in code_files(folder):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return out


@contextlib.contextmanager
def payload_file(path: str | Path) -> Iterator[Path]:
    """The file to send for ``path``: itself, or for a folder its code bundled into a temporary
    ``.tar.gz`` that is removed on exit (a participant's temporary folder does not fill up)."""
    path = Path(path)
    if not path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hepbench-submit-") as tmp:
        yield bundle_folder(path, Path(tmp) / f"{path.resolve().name or 'submission'}.tar.gz")


def _entries(path: Path) -> list[tuple[str, int, bool]]:
    """(name, size, is a regular file) of every member, from the archive's index."""
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                out = []
                for info in archive.infolist():
                    mode = (info.external_attr >> 16) & 0o170000
                    regular = not info.is_dir() and mode in (0, 0o100000)
                    out.append((info.filename, info.file_size, regular or info.is_dir()))
                return out
        with tarfile.open(path, "r:gz") as archive:
            return [(m.name, m.size, m.isfile() or m.isdir()) for m in archive.getmembers()]
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable code bundle ({type(err).__name__}: {err})") from None


def check_bundle(path: str | Path) -> list[tuple[str, int, bool]]:
    """The bundle's members, or ValueError naming the file and the member at fault."""
    path = Path(path)
    entries = _entries(path)
    if len(entries) > MAX_FILES:
        raise ValueError(f"{path}: {len(entries)} members; a code bundle holds at most {MAX_FILES}")
    total = 0
    for name, size, allowed in entries:
        parts = PurePosixPath(name).parts
        if not allowed:
            raise ValueError(f"{path}: member {name!r} is a link or a device; a code bundle holds files only")
        if name.startswith("/") or ".." in parts:
            raise ValueError(f"{path}: member {name!r} points outside the bundle")
        total += size
        if total > MAX_CODE_BYTES:
            raise ValueError(f"{path}: more than {MAX_CODE_BYTES >> 20} MiB of code; ship data in an image")
    if "model.py" not in {PurePosixPath(n).as_posix().removeprefix("./") for n, _, _ in entries}:
        raise ValueError(f"{path}: no model.py at the top of the bundle")
    return entries


def unpack_bundle(path: str | Path, dest: str | Path) -> Path:
    """Unpack a checked bundle's regular files into ``dest``."""
    path, dest = Path(path), Path(dest)
    check_bundle(path)
    dest.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    target = dest / PurePosixPath(info.filename)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
        return dest
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile():
                target = dest / PurePosixPath(member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = archive.extractfile(member)
                target.write_bytes(handle.read() if handle is not None else b"")
    return dest


__all__ = [
    "BUNDLE_SUFFIXES",
    "bundle_folder",
    "check_bundle",
    "is_bundle",
    "is_image_tar",
    "payload_file",
    "unpack_bundle",
]
