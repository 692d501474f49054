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


def test_multiclass_scores():
    ref = _gauss(800, seed=1)
    scores = calo.multiclass_scores(
        ref, {"copy": _gauss(1500, seed=2), "far": _gauss(1500, 1.5, seed=3)}, config="tiny"
    )
    assert scores["copy"] > np.log(0.5) > scores["far"]
    twins = calo.multiclass_scores(ref, {"a": _gauss(1500, seed=4), "b": _gauss(1500, seed=5)}, config="tiny")
    assert all(abs(v - np.log(0.5)) < 0.15 for v in twins.values())


def test_generation_timing():
    timing = calo.generation_timing(
        lambda e: np.zeros((len(e), 10)), np.array([1e3, 2e3]), batch_sizes=(1, 100), repeats=3
    )
    assert set(timing) == {1, 100} and all(v["ms_per_shower"] > 0 for v in timing.values())
