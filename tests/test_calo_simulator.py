import numpy as np
import pytest

from hepbench import challenges
from hepbench.challenges.calo.dataset import generate_dataset, load_split, simulated_as
from hepbench.challenges.calo.physics import energy_resolution, lateral_containment, occupancy, shower_maximum
from hepbench.challenges.calo.simulator import (
    DS1_ENERGIES_MEV,
    SIMULATOR_VERSION,
    GFlashSimulator,
    detector_model,
    vary,
)
from hepbench.datafiles import sha256_file


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
    # The blocks a large data set is written from are the same showers, batch by batch.
    blocks = list(GFlashSimulator("ds1-photons", seed=4, showers_per_batch=15).sample_blocks(energy))
    assert [len(b) for b in blocks] == [15, 15, 10]
    whole = GFlashSimulator("ds1-photons", seed=4, showers_per_batch=15).sample(energy)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    with pytest.raises(ValueError, match="positive"):
        sim.sample(np.array([-1.0]))
    with pytest.raises(ValueError, match="positive"):
        sim.sample_blocks(np.array([-1.0]))  # at the call, before any block
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
    assert train.metadata["generator_version"] == SIMULATOR_VERSION
    assert not np.array_equal(train.showers, test.showers)
    again = generate_dataset("tiny", 3, tmp_path / "again")
    assert again["ds1-photons_train.hdf5"]["sha256"] == written["ds1-photons_train.hdf5"]["sha256"]
    # Reading only the first showers gives the same rows as reading all (a run with --showers).
    first = load_split(tmp_path, "ds1-photons", "train", max_showers=120)
    np.testing.assert_array_equal(first.showers, train.showers[:120])
    np.testing.assert_array_equal(first.incident_energy, train.incident_energy[:120])
    with pytest.raises(ValueError, match="must be positive"):
        load_split(tmp_path, "ds1-photons", "train", max_showers=0)


def _occupancy(showers):
    return (showers > 0).sum(axis=1).mean()


def test_occupancy_grows_with_energy_on_ds2():
    # GFlash spot count N = 10.3 / c E^0.959: the non-zero voxels keep growing with energy instead
    # of saturating at a spot cap (version 1.x: 147 / 717 / 1242 / 1329 at 1 / 10 / 100 / 1000 GeV).
    hits = occupancy(detector_model("ds2"), n_showers=60, seed=6)
    counts = hits["nonzero_mean"]
    assert all(b > 1.5 * a for a, b in zip(counts, counts[1:])), counts
    assert all(0.95 < sum(layers) < 1.02 for layers in hits["layer_fraction"])
    sim = GFlashSimulator("ds2")
    spots = sim.n_spots(np.array([1e3, 1e6]))
    assert spots[1] / spots[0] == pytest.approx(1e3**0.959)
    fewer = GFlashSimulator(vary(detector_model("ds2"), sampling_fraction_scale=0.5)).n_spots(np.array([1e4]))
    assert fewer[0] == pytest.approx(sim.n_spots(np.array([1e4]))[0] * np.sqrt(0.5))


def test_shower_to_shower_spread_of_the_shower_maximum():
    # Per shower, T = <t> - var(t) / <t> of its layer profile (gamma moments); its spread over
    # showers at fixed energy must be GFlash's for a sampling calorimeter: sigma(ln T) =
    # 1 / (-2.5 + 1.25 ln y), times T; the measurement only adds spot noise.
    model = detector_model("ds2")
    sim = GFlashSimulator(model, seed=8)
    centres = np.array([0.5 * (a + b) for a, b in model.layer_depth_edges_x0])
    ratios = []
    for energy in (1e4, 1e5, 1e6):
        showers = sim.sample(np.full(1000, energy))
        layers = np.column_stack([showers[:, sl].sum(axis=1) for sl in model.geometry.layer_slices().values()])
        weights = layers / layers.sum(axis=1, keepdims=True)
        mean = weights @ centres
        t_hat = mean - (weights @ centres**2 - mean**2) / mean
        p = sim.mean_longitudinal_parameters(np.array([energy]))
        ln_y = np.log(energy / model.material.critical_energy_mev)
        assert p["sigma_ln_t"][0] == pytest.approx(1 / (-2.5 + 1.25 * ln_y))
        expected = np.exp(p["mean_ln_t"][0]) * p["sigma_ln_t"][0]
        ratios.append(t_hat.std() / expected)
    assert 0.97 < np.mean(ratios) < 1.2, ratios


def test_voxel_sampling_matches_the_spot_level_model():
    # sample() draws voxel counts from the integrated profiles; binning the spots themselves
    # (no thinning at 10 GeV) must give the same layer energies and occupancy.
    model = detector_model("ds2")
    energy = np.full(300, 1e4)
    binned = GFlashSimulator(model, seed=11).sample(energy)
    sim = GFlashSimulator(model, seed=12, max_spots=10**6)
    spots = sim.voxelise(sim.sample_spots(energy), len(energy))
    layer = [np.array([s[:, sl].sum() for sl in model.geometry.layer_slices().values()]) for s in (binned, spots)]
    np.testing.assert_allclose(layer[0].sum() / layer[1].sum(), 1.0, atol=0.01)
    np.testing.assert_allclose(layer[0] / layer[0].sum(), layer[1] / layer[1].sum(), atol=0.003)
    assert _occupancy(binned) == pytest.approx(_occupancy(spots), rel=0.05)


def test_one_geometry_of_a_preset_is_the_same_file_as_in_the_whole_preset(tmp_path):
    """``data generate calo --geometry``: e.g. the full preset's data set 1 without data set 3."""
    whole = generate_dataset("small", 4, tmp_path / "whole", ["ds1-photons", "ds2"])
    alone = generate_dataset("small", 4, tmp_path / "alone", ["ds2"])
    assert set(alone) == {"ds2_train.hdf5", "ds2_test.hdf5"}
    assert all(alone[name]["sha256"] == whole[name]["sha256"] for name in alone)
    with pytest.raises(ValueError, match="has no \\['ds1-pions'\\] showers"):
        generate_dataset("small", 4, tmp_path / "none", ["ds1-pions"])


def test_a_run_simulates_only_the_geometry_it_needs_and_adds_others_later(tmp_path):
    """A DS2 run does not write data set 3's 40,500-voxel showers; a later DS1 run in the same
    folder adds DS1's files, the same bytes as the whole preset's; other showers stay as they are."""
    spec = challenges.get("calo")
    folder = spec.ensure_data("small", 4, tmp_path / "data", "ds2")
    assert sorted(p.name for p in folder.glob("*.hdf5")) == ["ds2_test.hdf5", "ds2_train.hdf5"]
    spec.ensure_data("small", 4, folder, "ds1-photons")
    reference = generate_dataset("small", 4, tmp_path / "reference", ["ds1-photons"])
    for name, meta in reference.items():
        assert sha256_file(folder / name) == meta["sha256"]
    assert simulated_as(folder) == ("small", 4, SIMULATOR_VERSION)
    # Showers of another seed are used as they are: nothing is simulated over them.
    assert spec.ensure_data("small", 5, folder, "ds3") == folder
    assert not (folder / "ds3_train.hdf5").exists()
    # Nor over showers of another simulator version, which would mix versions in one folder.
    sidecar = folder / "ds2_train.json"
    sidecar.write_text(
        sidecar.read_text().replace(f'"generator_version": "{SIMULATOR_VERSION}"', '"generator_version": "1.0"')
    )
    assert spec.ensure_data("small", 4, folder, "ds3") == folder
    assert not (folder / "ds3_train.hdf5").exists()
