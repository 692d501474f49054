"""The calorimeter shower generators: tiny trainings on the data set 1 photon geometry.

Showers come from the small test sampler of ``challenges/calo/testing.py``; the geometry is the
official binning XML shipped in ``hepbench.reference_data``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hepbench import challenges, reference_data
from hepbench.baselines.calo.generative import SAMPLE_MEMORY_BYTES, CaloGenerator
from hepbench.baselines.calo.preprocessing import LayerShapes, layer_energies
from hepbench.challenges.calo.geometry import read_binning_xml
from hepbench.challenges.calo.testing import sample_test_showers

NAMES = ("calo-gan", "calo-flow", "calo-inn", "calo-diffusion", "calo-flow-matching")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two shared cores: torch's second thread costs far more in contention than it gains here.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def geometry():
    return read_binning_xml(reference_data.path("calo-binning") / "binning_dataset_1_photons.xml")


@pytest.fixture(scope="module")
def data(geometry):
    train = sample_test_showers(geometry, 2000, seed=1)
    test = sample_test_showers(geometry, 1000, seed=2)
    return train, test


# The spline flows take ten seconds each to train even at the tiny size: the quick lane keeps the
# three voxel-space generators.
@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.slow) if n in ("calo-flow", "calo-inn") else n for n in NAMES],
)
def trained(request, geometry, data):
    (energy, showers), _ = data
    model = challenges.get("calo").baseline(request.param).factory("tiny", "cpu", 0)
    return model.fit(energy, showers, geometry)


def depth_correlation(energy: np.ndarray, showers: np.ndarray, geometry) -> float:
    """Correlation of ln E_inc with the energy-weighted mean layer index (the shower maximum moves deeper)."""
    layers = layer_energies(showers, geometry)
    fractions = layers / np.maximum(layers.sum(1, keepdims=True), 1e-12)
    return float(np.corrcoef(np.log(energy), fractions @ np.arange(layers.shape[1]))[0, 1])


def test_test_sampler_is_seeded_and_sparse(geometry) -> None:
    energy, showers = sample_test_showers(geometry, 500, seed=8)
    again_energy, again = sample_test_showers(geometry, 500, seed=8)
    np.testing.assert_array_equal(showers, again)
    np.testing.assert_array_equal(energy, again_energy)
    assert showers.shape == (500, 368) and energy.min() >= 1e3 and energy.max() <= 1e5
    assert 0.2 < (showers == 0).mean() < 0.8 and np.all(showers[showers > 0] >= 1.0)
    assert 0.7 < np.mean(showers.sum(1) / energy) < 0.9
    with pytest.raises(ValueError, match="n_showers"):
        sample_test_showers(geometry, 0)


def test_every_generator_is_registered() -> None:
    assert set(challenges.get("calo").baselines()) == set(NAMES)
    for name in NAMES:
        assert challenges.get("calo").baseline(name).factory("tiny", "cpu", 0).get_params()["seed"] == 0


def test_samples_have_shape_dtype_and_are_non_negative(trained, geometry, data) -> None:
    _, (energy, _) = data
    showers = trained.sample(energy[:300], seed=5)
    assert showers.shape == (300, geometry.n_voxels) == (300, 368)
    assert showers.dtype == np.float32
    assert np.all(np.isfinite(showers)) and np.all(showers >= 0)
    assert trained.n_parameters > 1000
    # the one-off set-up (preprocessing, creating the networks) is timed apart from the epochs
    assert 0 < trained.setup_seconds_ <= trained.training_seconds_


def test_training_learns_the_energy_dependence(trained, geometry, data) -> None:
    (train_energy, train_showers), (energy, showers) = data
    reference = depth_correlation(energy, showers, geometry)
    assert reference > 0.6  # the sampler's shower maximum moves deeper with energy
    untrained = type(trained)(**{**trained.get_params(), "epochs": 0}).fit(train_energy, train_showers, geometry)
    generated = trained.sample(energy, seed=7)
    # Randomly initialised networks barely use their energy input (|correlation| ~ 0 to 0.2).
    before = depth_correlation(energy, untrained.sample(energy, seed=7), geometry)
    after = depth_correlation(energy, generated, geometry)
    assert after > max(0.5, before + 0.3), (before, after)
    response = (generated.sum(1) / energy).mean() / (showers.sum(1) / energy).mean()
    assert 0.7 < response < 1.4, f"mean E_tot / E_inc off by a factor {response:.2f}"


def test_save_load_round_trip_and_seeded_reproducibility(trained, data, tmp_path) -> None:
    _, (energy, _) = data
    first = trained.sample(energy[:200], seed=11)
    np.testing.assert_array_equal(first, trained.sample(energy[:200], seed=11))
    assert not np.array_equal(first, trained.sample(energy[:200], seed=12))
    assert not np.array_equal(trained.sample(energy[:20]), trained.sample(energy[:20]))
    path = trained.save(tmp_path / "model.pt")
    loaded = CaloGenerator.load(path)
    assert type(loaded) is type(trained) and loaded.get_params() == trained.get_params()
    assert loaded.n_parameters == trained.n_parameters
    np.testing.assert_array_equal(loaded.sample(energy[:200], seed=11), first)


def test_same_seed_trains_the_same_model(geometry) -> None:
    energy, showers = sample_test_showers(geometry, 300, seed=4)
    samples = []
    for _ in range(2):
        model = challenges.get("calo").baseline("calo-flow-matching").factory("tiny", "cpu", 3)
        model.epochs = 2
        samples.append(model.fit(energy, showers, geometry).sample(energy[:50], seed=1))
    np.testing.assert_array_equal(*samples)


def test_bad_inputs_name_the_field(geometry, tmp_path) -> None:
    energy, showers = sample_test_showers(geometry, 20, seed=3)
    model = challenges.get("calo").baseline("calo-gan").factory("tiny", "cpu", 0)
    with pytest.raises(ValueError, match=r"showers: expected shape \(N, 368\)"):
        model.fit(energy, showers[:, :-1], geometry)
    bad = showers.copy()
    bad[4, 17] = np.nan
    with pytest.raises(ValueError, match=r"showers: contains NaN .* shower 4, voxel 17"):
        model.fit(energy, bad, geometry)
    with pytest.raises(ValueError, match=r"showers: voxel energies must be >= 0"):
        model.fit(energy, -showers - 1, geometry)
    bad_energy = energy.copy()
    bad_energy[2] = np.nan
    with pytest.raises(ValueError, match="incident_energy: contains NaN"):
        model.fit(bad_energy, showers, geometry)
    with pytest.raises(ValueError, match="showers: 20 showers but incident_energy has 19"):
        model.fit(energy[:-1], showers, geometry)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.sample(energy)
    model.epochs = 0
    model.fit(energy, showers, geometry)
    with pytest.raises(ValueError, match=r"incident_energy: incident energies must be > 0"):
        model.sample(np.array([1000.0, -5.0]))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="garbage.pt: not a readable generator file"):
        CaloGenerator.load(garbage)


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size must be one of"):
        challenges.get("calo").baseline("calo-inn").factory("huge", "cpu", 0)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_dataset_2_geometry_trains_and_samples(name) -> None:
    geometry = read_binning_xml(reference_data.path("calo-binning") / "binning_dataset_2.xml")
    energy, showers = sample_test_showers(geometry, 64, seed=6)
    model = challenges.get("calo").baseline(name).factory("tiny", "cpu", 0)
    model.epochs = 1
    generated = model.fit(energy, showers, geometry).sample(energy[:8], seed=0)
    assert generated.shape == (8, 6480) and np.all(generated >= 0) and np.all(np.isfinite(generated))
    # Sampling works through batches sized to the memory budget; the spline flows need small ones on DS2.
    assert 1 <= model.default_sample_batch <= 10_000
    assert model.default_sample_batch * model._sample_bytes_per_shower() <= SAMPLE_MEMORY_BYTES
    if name in ("calo-flow", "calo-inn"):
        assert model.default_sample_batch < 1000
    assert model.sample(energy[:5], seed=0, batch_size=2).shape == (5, 6480)


@pytest.mark.parametrize("name", ["calo-flow-matching", "calo-flow"])
def test_patience_stops_on_the_held_out_loss_and_is_saved(name, geometry, tmp_path) -> None:
    """The small and full configurations train until the held-out loss stops falling."""
    from hepbench.baselines.calo.generative import PATIENCE

    spec = challenges.get("calo").baseline(name)
    assert spec.factory("small", "cpu", 0).patience == PATIENCE == spec.factory("full", "cpu", 0).patience
    assert spec.factory("tiny", "cpu", 0).patience is None
    energy, showers = sample_test_showers(geometry, 400, seed=5)
    # A learning rate this high makes the held-out loss stop falling within a few epochs.
    model = spec.factory("tiny", "cpu", 0, learning_rate=0.05 if name == "calo-flow-matching" else 0.02)
    model.epochs, model.patience = 40, 2
    model.fit(energy, showers, geometry)
    key = "shape_validation_loss" if name == "calo-flow-matching" else "flow_ii_validation_nll"
    held_out = [h[key] for h in model.history_ if key in h]
    best = int(np.argmin(held_out))
    assert len(held_out) == best + 3 < 40, held_out
    # The configuration survives a save, and the loaded model is the trained one.
    loaded = CaloGenerator.load(model.save(tmp_path / "model.pt"))
    assert loaded.patience == 2
    np.testing.assert_array_equal(loaded.sample(energy[:20], seed=1), model.sample(energy[:20], seed=1))


@pytest.mark.parametrize(
    ("name", "floor"), [("calo-diffusion", 0.0), ("calo-flow-matching", 0.0), ("calo-flow-matching", 1.5)]
)
def test_layer_representation_gives_each_layer_the_drawn_energy(name, floor, geometry, tmp_path) -> None:
    """The shape network only distributes a layer's energy: the layer sums are the energy network's.
    With a deposit floor no generated deposit lies below it."""
    energy, showers = sample_test_showers(geometry, 400, seed=6)
    model = challenges.get("calo").baseline(name).factory("tiny", "cpu", 0, epochs=2, deposit_floor_mev=floor)
    assert model.representation == "layers"
    model.fit(energy, showers, geometry)
    assert set(model.networks_) == {"energy", "shape"}
    drawn = []
    draw = model._draw

    def recording(network, context, n_features):
        drawn.append(draw(network, context, n_features))
        return drawn[-1]

    model._draw = recording
    generated = model.sample(energy[:100], seed=2)
    u, x = drawn
    assert u.shape == (100, len(geometry.active_layers)) and x.shape == (100, geometry.n_voxels)
    expected = model.layers_.energies.inverse(torch.as_tensor(energy[:100], dtype=torch.float64), u).numpy()
    got = layer_energies(generated, geometry)
    filled = got > 0  # a layer whose every drawn fraction fell below alpha stays empty
    assert filled.mean() > 0.95
    np.testing.assert_allclose(got[filled], expected[filled], rtol=1e-4)
    assert np.all(generated.sum(1) <= float(model.layers_.energies.total_scale) * energy[:100] * (1 + 1e-5))
    if floor:  # below the floor only the one deposit of a layer drawn with less energy than the floor
        for layer in geometry.layer_slices().values():
            hits = generated[:, layer]
            below = ((hits > 0) & (hits < floor * (1 - 1e-5))).any(1)
            assert np.all((hits[below] > 0).sum(1) == 1)
        loaded = CaloGenerator.load(model.save(tmp_path / "floor.pt"))
        assert loaded.deposit_floor_mev == floor
        np.testing.assert_array_equal(loaded.sample(energy[:100], seed=2), generated)


def per_voxel(layers: np.ndarray, geometry) -> np.ndarray:
    """Layer quantities (N, n_layers) repeated over each layer's voxels: (N, n_voxels)."""
    sizes = [s.stop - s.start for s in geometry.layer_slices().values()]
    return np.repeat(layers, sizes, axis=1)


@pytest.mark.parametrize("floor", [0.0, 2.0])
def test_layer_shapes_round_trip_with_and_without_a_deposit_floor(floor, geometry) -> None:
    """Showers without deposits below the floor come back from the shape variables as they were
    (to the dequantisation, 1e-4 of the layer energy); the caller's array is left untouched."""
    _, showers = sample_test_showers(geometry, 500, seed=3)
    showers = np.where(showers >= floor + 0.01, showers, 0.0)
    before = showers.copy()
    shapes = LayerShapes(geometry, deposit_floor=floor)
    z = shapes.fit_transform(showers, seed=1)
    np.testing.assert_array_equal(showers, before)
    assert torch.isfinite(z).all() and abs(float(z.mean())) < 1e-3
    layers = layer_energies(showers, geometry)
    back = shapes.inverse(torch.as_tensor(layers), z.double()).numpy()
    np.testing.assert_array_less(np.abs(back - showers), 1e-4 * per_voxel(layers, geometry) + 1e-9)
    np.testing.assert_allclose(layer_energies(back, geometry), layers, rtol=1e-9)


def test_deposit_floor_zeroes_the_fog_and_keeps_each_layers_largest_deposit(geometry) -> None:
    """Drawn deposits below the floor are removed and their energy goes to the rest of the layer;
    a layer whose every deposit falls below the floor keeps its largest one, with all its energy."""
    _, showers = sample_test_showers(geometry, 200, seed=4)
    shapes = LayerShapes(geometry, deposit_floor=0.5)
    z = shapes.fit_transform(showers, seed=2)
    drawn = z.double() + 0.3 * torch.randn(z.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    layers = torch.as_tensor(layer_energies(showers, geometry))
    layers[:, 0] = 0.3  # below the floor: every deposit of the first layer is below it
    out = shapes.inverse(layers, drawn).numpy()
    assert np.all((out == 0) | (out >= 0.5 * (1 - 1e-5)) | (per_voxel(layers.numpy(), geometry) < 0.5))
    np.testing.assert_allclose(layer_energies(out, geometry), layers.numpy(), rtol=1e-9)
    first = out[:, geometry.layer_slices()[geometry.active_layers[0].id]]
    assert np.all((first > 0).sum(1) == 1) and np.allclose(first.max(1), 0.3)
    without = LayerShapes(geometry).load(shapes.state()).inverse(layers, drawn).numpy()
    assert ((without > 0) & (without < 0.5)).sum() > 10 * ((out > 0) & (out < 0.5)).sum()


def test_files_written_before_the_layer_representation_load_as_voxels(geometry, tmp_path) -> None:
    energy, showers = sample_test_showers(geometry, 300, seed=7)
    model = challenges.get("calo").baseline("calo-diffusion").factory("tiny", "cpu", 0, epochs=1)
    model.representation = "voxels"
    model.fit(energy, showers, geometry)
    assert set(model.networks_) == {"denoiser"}
    payload = torch.load(model.save(tmp_path / "new.pt"), weights_only=True)
    config = json.loads(payload["config"])
    del config["representation"]  # as written by the code before the option existed
    torch.save({**payload, "config": json.dumps(config)}, tmp_path / "old.pt")
    loaded = CaloGenerator.load(tmp_path / "old.pt")
    assert loaded.representation == "voxels"
    np.testing.assert_array_equal(loaded.sample(energy[:20], seed=1), model.sample(energy[:20], seed=1))
    with pytest.raises(ValueError, match="representation must be one of"):
        challenges.get("calo").baseline("calo-diffusion").factory("tiny", "cpu", 0, representation="pixels")
    with pytest.raises(ValueError, match="deposit_floor_mev: must be a finite number of MeV >= 0"):
        challenges.get("calo").baseline("calo-flow-matching").factory("tiny", "cpu", 0, deposit_floor_mev=-1.0)
    with pytest.raises(ValueError, match="'layers' representation only"):
        challenges.get("calo").baseline("calo-diffusion").factory(
            "tiny", "cpu", 0, representation="voxels", deposit_floor_mev=0.1
        )
