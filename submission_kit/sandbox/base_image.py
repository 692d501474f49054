"""An offline base image for submissions: Debian bookworm with python3, numpy and pandas.

Built without any container registry: ``debootstrap`` fetches Debian packages from an apt
mirror into a root filesystem, ``docker import`` turns it into an image, and ``docker save``
caches it as a tar (``~/.cache/hepbench/``) so later builds only ``docker load`` it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BASE_IMAGE_TAG = "hepbench/submission-base:bookworm"
PACKAGES: tuple[str, ...] = ("python3", "python3-numpy", "python3-pandas")
MIRROR = "http://deb.debian.org/debian"


def cache_dir() -> Path:
    """Where built image tars are kept: ``$HEPBENCH_CACHE`` or ``~/.cache/hepbench``."""
    return Path(os.environ.get("HEPBENCH_CACHE", Path.home() / ".cache" / "hepbench"))


def cached_tar(tag: str = BASE_IMAGE_TAG) -> Path:
    return cache_dir() / (tag.replace("/", "_").replace(":", "_") + ".tar")


def build_rootfs_tar(out_tar: Path, *, suite: str = "bookworm", mirror: str = MIRROR) -> None:
    """Debootstrap a minimal root filesystem with ``PACKAGES`` and write it as a tar."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install -y debootstrap)")
    with tempfile.TemporaryDirectory(prefix="hepbench-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        subprocess.run(["tar", "-C", str(root), "-cf", str(out_tar), "."], check=True)


def ensure_base_image(tag: str = BASE_IMAGE_TAG, *, client=None) -> dict[str, float | str | bool]:
    """Make ``tag`` present in the local docker daemon without touching a registry.

    Order: already present -> nothing; cached tar -> ``docker load``; otherwise debootstrap,
    ``docker import`` and ``docker save`` to the cache. Returns what was done and its seconds.
    """
    import docker

    from .container import docker_client

    client = client or docker_client()
    start = time.perf_counter()
    try:
        client.images.get(tag)
        return {"tag": tag, "action": "present", "seconds": time.perf_counter() - start, "built": False}
    except docker.errors.ImageNotFound:
        pass
    tar = cached_tar(tag)
    if tar.exists():
        with tar.open("rb") as handle:
            client.images.load(handle.read())
        return {"tag": tag, "action": "loaded", "seconds": time.perf_counter() - start, "built": False}
    tar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hepbench-image-", dir=tar.parent) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        build_rootfs_tar(rootfs)
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(rootfs), repository=repository, tag=version or "latest", changes=['CMD ["python3"]']
        )
        partial = tar.with_name(tar.name + ".partial")
        with partial.open("wb") as handle:
            for chunk in client.images.get(tag).save(named=True):
                handle.write(chunk)
        partial.replace(tar)
    return {"tag": tag, "action": "built", "seconds": time.perf_counter() - start, "built": True}
