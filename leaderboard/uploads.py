"""Participants' submissions over HTTP: an authenticated, size-capped upload streamed to disk.

``POST /api/challenges/{challenge}/{phase}/submissions`` with ``Authorization: Bearer TOKEN``
and the payload as the request body (``?method=NAME&format=csv|json|tar.gz|zip|tar``). The body goes to a file
under the leaderboard home while its sha256 is computed, and stops with 413 past the cap; it is
then submitted as if by ``hepbench leaderboard submit --token``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .db import Store

MAX_UPLOAD_BYTES = 8 << 30
"""Largest upload (an image tar); answers and bundles have their own, smaller caps."""
FORMATS = ("csv", "json", "tar.gz", "zip", "tar")
"""Answers (csv, json), a code bundle (tar.gz, zip of a folder with model.py) or an image (tar, from docker save)."""


class UploadTooLarge(ValueError):
    """The body went past the cap (the part received is deleted)."""


@dataclass(frozen=True)
class Upload:
    path: Path
    size: int
    sha256: str


async def receive(store: Store, chunks: AsyncIterator[bytes], suffix: str, limit: int = MAX_UPLOAD_BYTES) -> Upload:
    """Stream ``chunks`` into a new file under ``HOME/uploads`` (at most ``limit`` bytes)."""
    folder = store.path("uploads")
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, suffix=suffix)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"the upload is larger than {limit:,} bytes")
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Upload(Path(name), size, digest.hexdigest())
