import numpy as np
import pytest

from hepbench.challenges.calo.geometry import builtin_geometry
from hepbench.scoring import calo


def test_separation_power_hand_worked():
    # normalised [0.25, 0.75] vs [0.75, 0.25]: 1/2 (0.25 / 1 + 0.25 / 1) = 0.25
    assert calo.separation_power([1, 3], [3, 1]) == pytest.approx(0.25)
    assert calo.separation_power([2, 5, 0], [4, 10, 0]) == 0.0
    assert calo.separation_power([1, 0], [0, 7]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        calo.separation_power([1, 2], [1, 2, 3])


def test_high_level_features_hand_worked():
    geometry = builtin_geometry("ds2")
    showers = np.zeros((2, geometry.n_voxels))
    layer_ids, radii, alphas = geometry.voxel_centres()
    first = np.flatnonzero((layer_ids == 3) & (radii == radii.min()))[:2]  # two innermost voxels of layer 3
    showers[0, first] = [10.0, 30.0]
    showers[1, 0] = 5.0
    f = calo.high_level_features(geometry, np.array([100.0, 50.0]), showers)
    assert f["etot_einc"] == pytest.approx([0.4, 0.1])
    assert f["e_3"] == pytest.approx([40.0, 0.0]) and f["e_0"] == pytest.approx([0.0, 5.0])
    assert f["ec_r_3"][0] == pytest.approx(radii[first[0]])
    x = radii[first] * np.cos(alphas[first])
    mean_x = (10 * x[0] + 30 * x[1]) / 40
    assert f["ec_x_3"][0] == pytest.approx(mean_x)
    assert f["width_x_3"][0] == pytest.approx(np.sqrt((10 * x[0] ** 2 + 30 * x[1] ** 2) / 40 - mean_x**2))
    assert f["sparsity_3"] == pytest.approx([2 / 144, 0.0])
    assert f["ec_x_3"][1] == 0.0 and f["width_r_3"][1] == 0.0  # empty layer
    thresholded = calo.apply_threshold(showers, 20.0)
    assert thresholded[0, first[0]] == 0.0 and thresholded[0, first[1]] == 30.0


def _gauss(n, shift=0.0, seed=0, d=4):
    return np.random.default_rng(seed).normal(shift, 1.0, (n, d))


def test_fpd_kpd_same_vs_shifted():
    ref, same, shifted = _gauss(3000, seed=1), _gauss(3000, seed=2), _gauss(3000, 0.3, seed=3)
    fpd_same, err = calo.fpd(ref, same, n_points=4, n_batches=3)
    fpd_shift, _ = calo.fpd(ref, shifted, n_points=4, n_batches=3)
    assert abs(fpd_same) < 0.02 and fpd_shift == pytest.approx(4 * 0.3**2, rel=0.2)
    ref, same, shifted = calo.scale_by_reference(ref, same, shifted)
    kpd_same, err_same = calo.kpd(ref, same, batch_size=1000, n_batches=5)
    kpd_shift, _ = calo.kpd(ref, shifted, batch_size=1000, n_batches=5)
    assert abs(kpd_same) < 3 * err_same + 1e-4 and kpd_shift > 10 * (abs(kpd_same) + err_same)
    scaled_ref, scaled = calo.scale_by_reference(np.array([[2.0, -4.0], [1.0, 1.0]]), np.array([[4.0, 2.0]]))
    assert scaled_ref.max() == 1.0 and scaled.tolist() == [[2.0, 0.5]]


def test_classifier_auc_and_jsd():
    ref = _gauss(1500, seed=1)
    same = calo.classifier_test(ref, _gauss(1500, seed=2), config="tiny", n_runs=2)
    shifted = calo.classifier_test(ref, _gauss(1500, 1.0, seed=3), config="tiny", n_runs=1)
    assert same["auc"] < 0.6 and same["auc_std"] >= 0 and same["jsd"] < 0.05
    assert shifted["auc"] > 0.8 and shifted["jsd"] > 0.2


def test_multiclass_scores_without_reference_class():
    ref = _gauss(800, seed=1)
    models = {"near": _gauss(1500, 0.2, seed=2), "far": _gauss(1500, 1.5, seed=3), "farther": _gauss(1500, 3.0, seed=6)}
    result = calo.multiclass_scores(ref, models, config="tiny")
    assert result.names == ["near", "far", "farther"]
    scores = result.log_posterior
    assert scores["near"] > scores["far"] > scores["farther"] and scores["near"] > np.log(1 / 3)
    matrix = np.array(result.matrix)
    assert matrix.shape == (3, 3) and (matrix <= 0).all()
    # every model's own held-out showers are most probably its own class
    assert all(matrix[j, j] == matrix[:, j].max() for j in range(3))
    twins = calo.multiclass_scores(ref, {"a": _gauss(1500, seed=4), "b": _gauss(1500, seed=5)}, config="tiny")
    assert all(abs(v - np.log(0.5)) < 0.15 for v in twins.log_posterior.values())
    with pytest.raises(ValueError, match="at least two"):
        calo.multiclass_scores(ref, {"a": ref}, config="tiny")


def test_low_and_high_level_inputs_hand_worked():
    """The anchor's prepare_low_data_for_classifier / prepare_high_data_for_classifier columns."""
    geometry = builtin_geometry("ds1-photons")  # layers 0 (8 r), 1 (16 r x 10 alpha), 2 (19 x 10), 3 (5), 12 (5)
    showers = np.zeros((2, geometry.n_voxels))
    showers[0, 1] = 20.0  # layer 0, r bin 1: centre 7.5 mm
    showers[0, 8 + 0 * 16 + 0] = 30.0  # layer 1, alpha bin 0 (-0.9 pi), r bin 0: centre 1 mm
    showers[0, 8 + 5 * 16 + 2] = 10.0  # layer 1, alpha bin 5 (+0.1 pi), r bin 2: centre 5 mm
    showers[1, 363 + 3] = 50.0  # layer 12, r bin 3: centre 700 mm
    energy = np.array([1000.0, 2000.0])

    low = calo.low_level_inputs(energy, showers)
    assert low.shape == (2, 369)
    assert low[:, 0] == pytest.approx([3.0, np.log10(2000)]) and low[0, 1 + 1] == pytest.approx(0.02)
    assert low[1, 1 + 366] == pytest.approx(0.025)
    # Stored as float32 for a float32 classifier: the float64 values rounded once, as torch would.
    low32 = calo.low_level_inputs(energy, showers, np.float32)
    assert low32.dtype == np.float32 and np.array_equal(low32, low.astype(np.float32))

    x = calo.high_level_inputs(geometry, energy, showers)
    assert x.shape == (2, 1 + 5 + 4 * 2 + 1 + 5 + 5 + 5)
    c, s = np.cos(0.1 * np.pi), np.sin(0.1 * np.pi)
    eta, phi = 20 * c / 40, 20 * s / 40  # (30 * 1 * cos(-0.9 pi) + 10 * 5 * cos(0.1 pi)) / 40, same for sin
    eta_width = np.sqrt(280 * c**2 / 40 - eta**2)
    phi_width = np.sqrt(280 * s**2 / 40 - phi**2)
    empty = np.log10(1e-8)
    expected_0 = [
        3.0,
        *np.log10([20 + 1e-8, 40 + 1e-8]), empty, empty, empty,  # log10 energy per layer
        eta / 100, 0.0, phi / 100, 0.0,  # centres in eta, phi (layers 1 and 2 only)
        eta_width / 100, 0.0, phi_width / 100, 0.0,  # widths in eta, phi
        np.log10(60 + 1e-8),  # log10 total energy
        1 - 1 / 8, 1 - 2 / 160, 1.0, 1.0, 1.0,  # sparsity: fraction of empty voxels
        0.075, 0.02, 0.0, 0.0, 0.0,  # centre in r / 100
        0.0, np.sqrt(280 / 40 - 4) / 100, 0.0, 0.0, 0.0,  # width in r / 100
    ]  # fmt: skip
    expected_1 = [
        np.log10(2000), empty, empty, empty, empty, np.log10(50 + 1e-8),
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        np.log10(50 + 1e-8), 1.0, 1.0, 1.0, 1.0, 0.8,
        0.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ]  # fmt: skip
    np.testing.assert_allclose(x[0], expected_0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x[1], expected_1, rtol=1e-10, atol=1e-12)


def test_split_per_class_anchor_sizes_and_fractions():
    rng = np.random.default_rng(0)
    train, test, val = calo.split_per_class(121_000, rng, calo.ANCHOR_SPLIT_SIZES["dataset_1_photons"])
    assert (len(train), len(test), len(val)) == (80_000, 20_000, 21_000)
    train, test, val = calo.split_per_class(1000, rng, calo.ANCHOR_SPLIT_SIZES["dataset_1_photons"])
    assert (len(train), len(test), len(val)) == (600, 200, 200)
    assert sorted(np.concatenate([train, test, val]).tolist()) == list(range(1000))


def test_generation_timing():
    timing = calo.generation_timing(
        lambda e: np.zeros((len(e), 10)), np.array([1e3, 2e3]), batch_sizes=(1, 100), repeats=3
    )
    assert set(timing) == {1, 100} and all(v["ms_per_shower"] > 0 for v in timing.values())
