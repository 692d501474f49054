"""Shared fixtures: paths to the real reference samples shipped in ``hepbench.reference_data``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hepbench import reference_data

FAIR_SAMPLE = reference_data.path("fair-universe-parquet")
HIGGSML2014_SAMPLE = reference_data.path("higgsml2014-csv")


@pytest.fixture(scope="session")
def fair_sample() -> pd.DataFrame:
    """The 1,000 real FAIR Universe HiggsML Uncertainty rows."""
    return pd.read_parquet(FAIR_SAMPLE)


@pytest.fixture(scope="session")
def fair_path() -> Path:
    return FAIR_SAMPLE


@pytest.fixture(scope="session")
def higgsml2014_path() -> Path:
    return HIGGSML2014_SAMPLE


@pytest.fixture(scope="session")
def higgs_tiny():
    """The tiny HiggsML Uncertainty preset (seed 5), generated once per test session."""
    from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset

    return generate_dataset("tiny", seed=5)


@pytest.fixture(scope="session")
def higgs_tiny_dir(higgs_tiny, tmp_path_factory):
    """``higgs_tiny`` written as ``hepbench data generate`` writes it (parquet with sidecars), for
    tests that need a data folder but not a data set of their own (generating one takes a minute)."""
    from hepbench.challenges.higgs_uncertainty.dataset import write_dataset

    return write_dataset(higgs_tiny, tmp_path_factory.mktemp("higgs-tiny-seed5"))


@pytest.fixture(scope="session")
def input_data(higgs_tiny_dir):
    """Per challenge id, the ``write_inputs`` options that point it at a data folder the session
    already holds (challenges not listed generate their small data, in seconds)."""
    return {"higgs-uncertainty": {"data_dir": higgs_tiny_dir}}


class TrainingStopped(BaseException):
    """Stands for a training process being killed (not an error a run would record)."""


@pytest.fixture()
def stop_training_after(monkeypatch):
    """``stop_training_after(k)``: the run is killed right after its k-th per-epoch checkpoint
    was written (``stop_training_after.error`` is what is raised); returns a one-element list
    counting the checkpoints written since (``k=None``: count only)."""
    from hepbench import torch_common

    def arm(k: int | None) -> list[int]:
        original, count = torch_common._save_atomically, [0]

        def save_then_maybe_stop(state, path):
            original(state, path)
            count[0] += 1
            if count[0] == k:
                raise TrainingStopped

        monkeypatch.setattr(torch_common, "_save_atomically", save_then_maybe_stop)
        return count

    arm.error = TrainingStopped
    return arm


# Leaderboard fixtures: `store` (SQLite and PostgreSQL), `postgres_server`, `chromium_path`.
# Sandbox fixtures (real bwrap and dockerd): `bwrap_backend`, `docker_backend`, `any_backend`, `sandbox_runs`,
# `submission_runtime`, `runtime_backends` (both backends on the submission runtime).
from hepbench.leaderboard.testing import chromium_path, make_record, postgres_server, store  # noqa: E402, F401
from hepbench.submission_kit.sandbox.testing import (  # noqa: E402, F401
    any_backend,
    bwrap_backend,
    docker_backend,
    docker_host,
    runtime_backends,
    sandbox_runs,
    submission_runtime,
)
