"""Particle-level LHCO events: the generator's particles give back their jets' features, in the
R&D file's schema, and the particle networks train on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench import reference_data
from hepbench.challenges.lhco.generator import generate_events, generate_in_window
from hepbench.challenges.lhco.particles import event_particles, particle_frame
from hepbench.challenges.lhco.real_data import jet_features, read_rnd_particles
from hepbench.challenges.lhco.schema import COLUMNS, LABEL, SIGNAL_REGION, particle_columns

pytest.importorskip("fastjet")


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return generate_events(300, 100, seed=5)


def test_clustering_the_particles_gives_back_the_jets(events: pd.DataFrame) -> None:
    pt, eta, phi = event_particles(events, 40, np.random.default_rng(1))
    assert pt.shape == (len(events), 80) and pt.dtype == np.float32
    found = jet_features(pt, eta, phi)
    assert found[list(COLUMNS)].notna().all().all()
    # Jets with m / pT above ~0.4 cannot keep every particle within R of the hardest one: their
    # mass comes out lower (docs/lhco.md quotes the fractions); the rest match to 0.2%.
    for column, share in (("mj1", 0.95), ("mj2", 0.8), ("pt_j1", 0.95), ("pt_j2", 0.95)):
        close = np.abs(found[column] / events[column] - 1.0) < 2e-3
        assert close.mean() > share, column
    mjj = np.abs(found["mjj"] / events["mjj"] - 1.0)
    assert np.median(mjj) < 0.005 and np.quantile(mjj, 0.9) < 0.03
    for column in ("tau21_j1", "tau21_j2"):
        miss = np.abs(found[column] - events[column])
        # Targets above ~0.8 saturate (docs/lhco.md); the bulk matches.
        assert np.median(miss) < 0.02, column
        assert np.quantile(miss[events[column] < 0.7], 0.8) < 0.06, column
    signal = events[LABEL].to_numpy() == 1
    assert found["tau21_j2"][signal].median() < found["tau21_j2"][~signal].median() - 0.15


def test_the_same_seed_gives_the_same_particles(events: pd.DataFrame) -> None:
    first = event_particles(events.iloc[:20], 10, np.random.default_rng(3))
    second = event_particles(events.iloc[:20], 10, np.random.default_rng(3))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_generated_and_real_particles_share_one_schema(events: pd.DataFrame) -> None:
    real = read_rnd_particles(reference_data.path("lhco-events-tiny"), 0, 50)
    generated = particle_frame(*event_particles(events.iloc[:50], 350, np.random.default_rng(0)))
    assert list(real.columns) == [*particle_columns(700), LABEL]
    assert list(generated.columns) == particle_columns(700)
    assert (real.dtypes[: 3 * 700] == generated.dtypes).all()
    # Same units: pT in GeV in both (leading particles of TeV jets are hundreds of GeV).
    pts = [f"pt_{i}" for i in range(700)]
    assert 50 < real[pts].to_numpy().max() < 3000 and 50 < generated[pts].to_numpy().max() < 3000


@pytest.fixture(scope="module")
def particle_inputs():
    from hepbench.challenges.lhco.protocol import AnomalyInputs

    def sr(process: str, n: int, seed: int) -> pd.DataFrame:
        frame = generate_in_window(process, n, seed, SIGNAL_REGION)
        frame[LABEL] = np.int8(process == "signal")
        return frame

    def with_particles(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        particles = particle_frame(*event_particles(frame, 16, np.random.default_rng(seed)))
        return pd.concat([frame, particles], axis=1)

    labelled = with_particles(pd.concat([sr("background", 300, 1), sr("signal", 300, 1)]), 1)
    test = with_particles(pd.concat([sr("background", 200, 2), sr("signal", 200, 2)]), 2)
    keep = [*COLUMNS, *particle_columns(32)]
    return AnomalyInputs(data=test[keep], labelled=labelled[[*keep, LABEL]]), test


@pytest.mark.parametrize("network", [pytest.param("cnn", marks=pytest.mark.slow), "gru", "deepsets"])
def test_particle_networks_learn_the_signal(particle_inputs, network: str) -> None:
    import torch
    from sklearn.metrics import roc_auc_score

    from hepbench.baselines.lhco.registry import BASELINES

    torch.set_num_threads(1)
    inputs, test = particle_inputs
    detector = BASELINES[f"supervised-{network}"].factory("tiny", "cpu", 0).fit(inputs)
    score = detector.predict(test[[*COLUMNS, *particle_columns(32)]])
    assert score.shape == (len(test),) and np.isfinite(score).all()
    assert roc_auc_score(test[LABEL], score) > 0.8


def test_particle_networks_refuse_high_level_data_in_one_line(particle_inputs) -> None:
    from hepbench.baselines.lhco.registry import BASELINES

    inputs, _ = particle_inputs
    high_level = type(inputs)(data=inputs.data[list(COLUMNS)], labelled=inputs.labelled[[*COLUMNS, LABEL]])
    with pytest.raises(ValueError, match="--constituents"):
        BASELINES["supervised-deepsets"].factory("tiny", "cpu", 0).fit(high_level)


def test_jet_images_are_centred_and_normalised(particle_inputs) -> None:
    from hepbench.baselines.lhco.particle_inputs import IMAGE_PIXELS, jet_images

    _, test = particle_inputs
    images = jet_images(test.iloc[:50], "test")
    assert images.shape == (50, 2, IMAGE_PIXELS, IMAGE_PIXELS)
    np.testing.assert_allclose(images.sum(axis=(2, 3)), 1.0, rtol=1e-5)
    # Flipped so that the pT-weighted mean lies at positive eta and phi (pixel index > centre).
    index = np.arange(IMAGE_PIXELS) - (IMAGE_PIXELS - 1) / 2
    assert ((images.sum(axis=3) * index).sum(axis=-1) > -0.5).all()
    assert ((images.sum(axis=2) * index).sum(axis=-1) > -0.5).all()


def test_a_written_particle_level_data_set_loads_with_its_particles(tmp_path, monkeypatch) -> None:
    from hepbench.challenges.lhco import dataset
    from hepbench.challenges.lhco.presets import Preset

    micro = Preset("tiny", 300, 20, 300, 50, 50, 40, 40, "test size")
    monkeypatch.setattr(dataset, "get_preset", lambda name: micro)
    made = dataset.generate_dataset("tiny", 4, tmp_path, constituents=8)
    loaded = dataset.load_dataset(tmp_path)
    assert (tmp_path / "data_particles.parquet").exists() and (tmp_path / "test_particles.parquet").exists()
    columns = [*COLUMNS, *particle_columns(16)]
    pd.testing.assert_frame_equal(loaded.inputs.data[columns], made.inputs.data[columns], check_like=True)
    pd.testing.assert_frame_equal(loaded.test[columns], made.test[columns])
    assert list(loaded.inputs.labelled.columns[-48:]) == particle_columns(16)
    # The particles are the observed events': clustering them gives the file's jet masses.
    found = jet_features(*(loaded.test[particle_columns(16)[k::3]].to_numpy() for k in range(3)))
    assert np.mean(np.abs(found["mj1"] / loaded.test["mj1"] - 1.0) < 2e-3) > 0.9


def test_data_generate_refuses_constituents_for_another_challenge(tmp_path) -> None:
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    result = CliRunner().invoke(
        app,
        ["data", "generate", "higgs-uncertainty", "--preset", "tiny", "--constituents", "5", "--out", str(tmp_path)],
    )
    assert result.exit_code != 0
    assert "constituents" in result.output and "Traceback" not in result.output
