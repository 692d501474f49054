"""Shared fixtures: paths to the real reference samples beside the repository."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FAIR_SAMPLE = SHARED_DATA / "fair_universe" / "FAIR_Universe_HiggsML_data.sample1000.parquet"
HIGGSML2014_SAMPLE = SHARED_DATA / "higgsml2014" / "atlas-higgs-challenge-2014-v2.first22889.csv"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real reference sample {path} is absent (expected ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def fair_sample() -> pd.DataFrame:
    """The 1,000 real FAIR Universe HiggsML Uncertainty rows."""
    return pd.read_parquet(require(FAIR_SAMPLE))


@pytest.fixture(scope="session")
def fair_path() -> Path:
    return require(FAIR_SAMPLE)


@pytest.fixture(scope="session")
def higgsml2014_path() -> Path:
    return require(HIGGSML2014_SAMPLE)


@pytest.fixture(scope="session")
def higgs_tiny():
    """The tiny HiggsML Uncertainty preset (seed 5), generated once per test session."""
    from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset

    return generate_dataset("tiny", seed=5)


# Leaderboard fixtures: `store` (SQLite and PostgreSQL), `postgres_server`, `chromium_path`.
# Sandbox fixtures (real bwrap and dockerd): `bwrap_backend`, `docker_backend`, `any_backend`, `sandbox_runs`.
from hepbench.leaderboard.testing import chromium_path, make_record, postgres_server, store  # noqa: E402, F401
from hepbench.submission_kit.sandbox.testing import any_backend, bwrap_backend, docker_backend, docker_host, sandbox_runs  # noqa: E402, F401
