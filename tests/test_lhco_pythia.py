"""The optional Pythia 8 generator of LHCO events (runs where the 'pythia' extra is installed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.lhco.schema import COLUMNS, LABEL

pytest.importorskip("pythia8mc", reason="the optional 'pythia' extra (pythia8mc) is not installed")

from hepbench.challenges.lhco.pythia import _chunk, generate_pythia_events  # noqa: E402
from hepbench.parallel import dask_client  # noqa: E402


@pytest.fixture(scope="module")
def signal() -> pd.DataFrame:
    return generate_pythia_events(0, 60, seed=1, chunk_events=30)


def test_signal_is_a_3p5_tev_resonance_of_a_100_and_a_500_gev_jet(signal) -> None:
    assert list(signal.columns) == [*COLUMNS, LABEL] and (signal[LABEL] == 1).all()
    assert len(signal) > 30  # most W' events pass the leading-jet cut
    assert 3.0 < signal["mjj"].median() < 3.8
    assert 0.06 < signal["mj1"].median() < 0.14
    assert 0.3 < (signal["mj1"] + signal["delta_m"]).median() < 0.6
    assert signal[["tau21_j1", "tau21_j2"]].median().max() < 0.6  # two-prong jets


def test_chunks_on_a_local_cluster_give_the_serial_events() -> None:
    serial = generate_pythia_events(15, 10, seed=4, chunk_events=5)
    with dask_client("local", n_workers=2) as client:
        parallel = generate_pythia_events(15, 10, seed=4, chunk_events=5, client=client)
    pd.testing.assert_frame_equal(serial, parallel)
    background = serial[serial[LABEL] == 0]
    assert len(background) > 0 and np.all(background["mjj"] > 2.0)


def test_a_wrong_setting_is_named() -> None:
    with pytest.raises(ValueError, match="NoSuchSetting"):
        _chunk(("NoSuchSetting = on",), 1, 1, 0)
