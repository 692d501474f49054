import numpy as np
import pytest

from hepbench.challenges.calo.dataset import generate_dataset, load_split
from hepbench.challenges.calo.physics import energy_resolution, lateral_containment, shower_maximum
from hepbench.challenges.calo.simulator import DS1_ENERGIES_MEV, GFlashSimulator, detector_model, vary


def _layer_centroid(model, showers):
    """Energy-weighted mean layer index."""
    layer_sums = np.column_stack([showers[:, sl].sum(axis=1) for sl in model.geometry.layer_slices().values()])
    return (layer_sums * np.arange(layer_sums.shape[1])).sum() / layer_sums.sum()


def test_shapes_energies_and_seeding():
    sim = GFlashSimulator("ds1-photons", seed=4)
    energy, showers = sim.generate(40)
    assert showers.shape == (40, 368) and showers.dtype == np.float32
    assert set(energy) <= set(DS1_ENERGIES_MEV)
    assert (showers >= 0).all() and (showers.sum(axis=1) > 0).all()
    e2, s2 = GFlashSimulator("ds1-photons", seed=4).generate(40)
    np.testing.assert_array_equal(energy, e2)
    np.testing.assert_array_equal(showers, s2)
    assert not np.array_equal(showers, GFlashSimulator("ds1-photons", seed=5).generate(40)[1])
    e_ds2, s_ds2 = GFlashSimulator("ds2", seed=0).generate(30)
    assert s_ds2.shape == (30, 6480) and e_ds2.min() >= 1e3 and e_ds2.max() <= 1e6
    assert GFlashSimulator("ds3", seed=0).sample(np.array([5e4, 2e5])).shape == (2, 40500)
    with pytest.raises(ValueError, match="positive"):
        sim.sample(np.array([-1.0]))
    with pytest.raises(ValueError, match="pions"):
        detector_model("ds1-pions")


def test_response_is_calibrated_and_fluctuates():
    sim = GFlashSimulator("ds2", seed=1)
    totals = sim.sample(np.full(200, 5e4)).sum(axis=1) / 5e4
    assert 0.93 < totals.mean() < 1.0  # small lateral/longitudinal leakage
    assert 0.02 < totals.std() < 0.035  # 0.17 / sqrt(50 GeV) = 0.024 from sampling, plus leakage fluctuations


def test_systematic_variations_move_the_showers():
    nominal = detector_model("ds2")
    energy = np.full(150, 1e5)
    base = GFlashSimulator(nominal, seed=2).sample(energy)
    scaled = GFlashSimulator(vary(nominal, energy_scale=1.1), seed=2).sample(energy)
    np.testing.assert_allclose(scaled.sum() / base.sum(), 1.1, rtol=1e-3)
    low_sf = GFlashSimulator(vary(nominal, sampling_fraction_scale=0.8), seed=2).sample(energy)
    assert 0.75 < low_sf.sum() / base.sum() < 0.85
    longer = GFlashSimulator(vary(nominal, x0_scale=1.3), seed=2).sample(energy)
    assert _layer_centroid(nominal, longer) > _layer_centroid(nominal, base) + 2  # layers are fewer X0 thick
    higher_z = GFlashSimulator(vary(nominal, z_shift=-40), seed=2).sample(energy)
    assert _layer_centroid(nominal, higher_z) != pytest.approx(_layer_centroid(nominal, base), abs=0.05)


def test_physics_shower_maximum_containment_resolution():
    model = detector_model("ds2")
    maximum = shower_maximum(model, n_showers=60)
    assert 0.75 < maximum["slope_x0_per_ln_y"] < 1.15
    containment = lateral_containment(model, energies_mev=[1e4, 1e5], n_showers=30)
    assert all(0.85 < f < 0.93 for f in containment["within_1_rm"])
    assert all(f > 0.94 for f in containment["within_2_rm"])
    ds1 = detector_model("ds1-photons")
    resolution = energy_resolution(ds1, energies_mev=[1024.0, 16384.0, 262144.0], n_showers=150)
    assert resolution["a_sqrt_gev"] == pytest.approx(ds1.material.sampling_term, rel=0.25)


def test_dataset_generation_round_trip(tmp_path):
    written = generate_dataset("tiny", 3, tmp_path)
    assert set(written) == {"ds1-photons_train.hdf5", "ds1-photons_test.hdf5"}
    train = load_split(tmp_path, "ds1-photons", "train")
    test = load_split(tmp_path, "ds1-photons", "test")
    assert train.showers.shape == (300, 368) and train.metadata["seed"] == 3 and train.metadata["split"] == "train"
    assert not np.array_equal(train.showers, test.showers)
    again = generate_dataset("tiny", 3, tmp_path / "again")
    assert again["ds1-photons_train.hdf5"]["sha256"] == written["ds1-photons_train.hdf5"]["sha256"]
