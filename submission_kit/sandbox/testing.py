"""Test fixtures: real bubblewrap sandboxes and a real docker daemon, prepared on demand.

As root on Debian the fixtures install what is missing (``host.APT_PACKAGES``), start
``dockerd`` and load or build the offline base image; elsewhere they skip, saying why. Once
prepared, a failure to start is a test failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TEST_RUNS = Path("/var/tmp/hepbench-test-runs")


def _require_root_and_apt() -> None:
    if os.geteuid() != 0:
        pytest.skip("sandbox tests need root (cgroups, output tmpfs, per-run users, dockerd)")
    if shutil.which("apt-get") is None or shutil.which("dpkg-query") is None:
        pytest.skip("sandbox tests install their tools with apt-get, which this host lacks")


@pytest.fixture(scope="session")
def sandbox_runs():
    """A folder for the session's run folders, reachable by the sandbox users; removed at the end."""
    from .workspace import make_run_root

    root = make_run_root(TEST_RUNS, prefix="session-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def bwrap_backend():
    from .bubblewrap import BubblewrapBackend, bwrap_available
    from .host import install_packages

    _require_root_and_apt()
    install_packages(("bubblewrap", "python3-numpy", "python3-pandas"))
    reason = bwrap_available()
    if reason:
        pytest.fail(reason)
    return BubblewrapBackend()


@pytest.fixture(scope="session")
def docker_host():
    """The docker client once the daemon runs and the base image is present; with its set-up report."""
    from .base_image import BASE_IMAGE_TAG, ensure_base_image
    from .container import docker_client
    from .host import install_packages, start_dockerd

    _require_root_and_apt()
    install_packages(("docker.io", "debootstrap"))
    daemon = start_dockerd()
    client = docker_client()
    image = ensure_base_image(BASE_IMAGE_TAG, client=client)
    return {"client": client, "image": BASE_IMAGE_TAG, "dockerd": daemon, "base_image": image}


@pytest.fixture(scope="session")
def docker_backend(docker_host):
    from .container import ContainerBackend

    return ContainerBackend(docker_host["image"], client=docker_host["client"])


@pytest.fixture(scope="session")
def submission_runtime():
    """The submission runtime's folder and manifest (built once, about two minutes, when absent)."""
    from .runtime import ensure_runtime, read_manifest, runtime_dir

    _require_root_and_apt()
    report = ensure_runtime()
    return {"path": runtime_dir(), "manifest": read_manifest(), "report": report}


@pytest.fixture(scope="session")
def runtime_backends(submission_runtime, docker_host):
    """Both backends on the submission runtime: bubblewrap with the tree bound in, docker on its image."""
    from .bubblewrap import BubblewrapBackend
    from .container import ContainerBackend
    from .runtime import RUNTIME_IMAGE_TAG, ensure_runtime_image

    ensure_runtime_image(docker_host["client"])
    return {
        "bubblewrap": BubblewrapBackend(runtime=submission_runtime["path"]),
        "docker": ContainerBackend(RUNTIME_IMAGE_TAG, client=docker_host["client"]),
    }


@pytest.fixture(params=["bubblewrap", "docker"])
def any_backend(request):
    """Each backend in turn."""
    return request.getfixturevalue(f"{'bwrap' if request.param == 'bubblewrap' else 'docker'}_backend")


def backend_by_name(name: str):
    """A backend for a worker process of its own (the host is prepared already)."""
    from . import backend_named

    return backend_named(name)
