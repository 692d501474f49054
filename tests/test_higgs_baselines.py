"""Every HiggsML Uncertainty classifier and inference method, on the tiny preset with tiny configs."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from hepbench import challenges
from hepbench.baselines.base import balanced_weights
from hepbench.baselines.higgs_uncertainty.augmentation import (
    NUISANCE_COLUMNS,
    SOURCE_EVENT,
    NuisanceAugmentation,
    nuisance_matrix,
    with_nuisance_tags,
)
from hepbench.baselines.higgs_uncertainty.counting import CountingExperiment
from hepbench.baselines.higgs_uncertainty.likelihood_ratio import LikelihoodRatioFit
from hepbench.baselines.higgs_uncertainty.neural_net import FeatureScaler, NeuralNetClassifier
from hepbench.baselines.higgs_uncertainty.registry import CLASSIFIERS, COMPARISON_TABLE, INFERENCES, STUDIES
from hepbench.baselines.higgs_uncertainty.signal_strength import SignalStrengthEstimator
from hepbench.baselines.higgs_uncertainty.template_fit import NOMINAL_PARAMETERS
from hepbench.challenges.higgs_uncertainty.dataset import split_by_process, weighted_part
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan, score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import (
    MU_RANGE,
    make_test_plan,
)
from hepbench.challenges.higgs_uncertainty.schema import FEATURES, PRIMARY_FEATURES, UNDEFINED
from hepbench.challenges.higgs_uncertainty.systematics import (
    NuisanceParameters,
    systematics,
)
from hepbench.scoring.anomaly import roc_auc
from hepbench.scoring.intervals import CONFIDENCE_LEVEL, sigma68


@pytest.fixture(scope="module")
def nominal_test(higgs_tiny):
    return systematics(higgs_tiny.test, seed=0)


@pytest.fixture(scope="module")
def fitted_on_tiny(higgs_tiny):
    """A baseline's tiny configuration trained on the tiny preset, once per module; a copy each call."""
    trained: dict[str, object] = {}

    def fitted(method: str):
        if method not in trained:
            trained[method] = (
                challenges.get("higgs-uncertainty").baseline(method).factory("tiny", "cpu", 0).fit(higgs_tiny.train)
            )
        return copy.deepcopy(trained[method])

    return fitted


def test_registry_pairs_every_classifier_with_every_inference() -> None:
    names = set(challenges.get("higgs-uncertainty").baselines())
    assert len(names) == len(CLASSIFIERS) * len(INFERENCES) == 33
    for family in (
        "nn-shallow-low",
        "nn-shallow-all",
        "nn-deep-low",
        "nn-deep-all",
        "nn-focal",
        "nn-fgsm",
        "bdt",
        "bdt-augmented",
        "nn-augmented",
        "nn-parameterised",
        "nn-adversarial",
    ):
        for inference in ("template-fit", "counting", "likelihood-ratio"):
            assert f"{family}-{inference}" in names
    assert set(COMPARISON_TABLE) <= names
    assert {"feature-ranking", "fixed-sample-offset"} <= set(STUDIES)
    estimator = challenges.get("higgs-uncertainty").baseline("nn-parameterised-counting").factory("tiny", "cpu", 0)
    assert isinstance(estimator.inference, CountingExperiment)
    assert estimator.classifier.nuisance_inputs and estimator.augmentation.n_draws > 0


def test_shallow_and_deep_networks_have_the_named_depth() -> None:
    shallow = CLASSIFIERS["nn-shallow-low"].make("small", "cpu", 0)
    deep = CLASSIFIERS["nn-deep-all"].make("small", "cpu", 0)
    assert len(shallow.hidden) == 1 and len(deep.hidden) >= 3
    assert shallow.features == list(PRIMARY_FEATURES) and deep.features == list(FEATURES)
    assert CLASSIFIERS["nn-fgsm"].make("tiny", "cpu", 0).fgsm_epsilon == 0.01


def test_augmentation_tags_copies_and_keeps_the_yield(higgs_tiny) -> None:
    events = higgs_tiny.train.iloc[:20_000]
    augmentation = NuisanceAugmentation(n_draws=3, spread=2.0, seed=1)
    draws = augmentation.draws()
    assert len(draws) == 4 and draws[0] == NuisanceParameters()
    built = augmentation.build(events)
    assert set(NUISANCE_COLUMNS) <= set(built.columns)
    tags = nuisance_matrix(built)
    assert len(np.unique(tags[:, 0])) == 4  # one TES value per copy, nominal among them
    assert np.any(np.all(tags == 0.0, axis=1))
    nominal_yield = systematics(events, seed=1)["weights"].sum()
    # each copy's selection moves with its shift; the average yield stays close to nominal
    assert built["weights"].sum() == pytest.approx(nominal_yield, rel=0.05)
    # an untagged frame (a pseudo-experiment) reads as the nominal point
    assert np.all(nuisance_matrix(events.drop(columns=list(NUISANCE_COLUMNS), errors="ignore")) == 0.0)
    # every copy names the unshifted event it comes from
    source = built[SOURCE_EVENT].to_numpy()
    assert source.min() >= 0 and source.max() < len(events)
    nominal_copy = built[np.all(tags == 0.0, axis=1)]
    np.testing.assert_array_equal(
        nominal_copy["PRI_had_pt"].to_numpy(), events["PRI_had_pt"].to_numpy()[nominal_copy[SOURCE_EVENT]]
    )


def test_augmentation_joins_its_copies_as_a_plain_concatenation(higgs_tiny) -> None:
    # The copies are joined column by column to save memory; the result is pd.concat's.
    events = higgs_tiny.train.iloc[:5_000]
    augmentation = NuisanceAugmentation(n_draws=2, spread=2.0, seed=4)
    events_tagged = events.assign(**{SOURCE_EVENT: np.arange(len(events))})
    expected = pd.concat(
        [
            with_nuisance_tags(systematics(events_tagged, nuisances, seed=4 + 7919 * k), nuisances)
            for k, nuisances in enumerate(augmentation.draws())
        ],
        ignore_index=True,
    )
    expected["weights"] = expected["weights"] / 3
    pd.testing.assert_frame_equal(augmentation.build(events), expected)


def test_estimator_trains_and_builds_templates_on_the_two_parts_of_its_split(higgs_tiny, monkeypatch) -> None:
    """The classifier's share and the templates' are the two parts of ``split_by_process``
    (disjoint, together the split, each keeping every process's yield); the templates' part is
    copied out only after the classifier trained (memory: docs/benchmarks.md)."""
    from hepbench.baselines.higgs_uncertainty import signal_strength

    train = higgs_tiny.train
    seen: dict[str, pd.DataFrame] = {}
    order: list[str] = []

    def recorded_part(frame, mask):
        order.append(f"part of {int(mask.sum())}")
        return weighted_part(frame, mask)

    monkeypatch.setattr(signal_strength, "weighted_part", recorded_part)

    class Classifier:
        def fit(self, frame, labels, weights):
            order.append("classifier trained")
            seen["classifier"] = frame
            return self

        def decision_score(self, frame):
            return np.zeros(len(frame))

    class Inference:
        def fit(self, score, frame):
            seen["templates"] = frame
            return self

    SignalStrengthEstimator(Classifier(), Inference(), classifier_fraction=0.3, seed=11).fit(train)
    first, second = split_by_process(train, 0.3, 11)
    assert order == [f"part of {len(first)}", "classifier trained", f"part of {len(second)}"]
    pd.testing.assert_frame_equal(seen["templates"], second)
    classifier_events = first.iloc[seen["classifier"][SOURCE_EVENT].to_numpy()]
    np.testing.assert_array_equal(seen["classifier"]["weights"].to_numpy(), classifier_events["weights"].to_numpy())
    assert len(first) + len(second) == len(train) and not set(first.index) & set(second.index)
    assert 0.28 < len(first) / len(train) < 0.32
    for part in (first, second):
        by_process = part.groupby("detailed_labels", observed=True)["weights"].sum()
        expected = train.groupby("detailed_labels", observed=True)["weights"].sum()
        pd.testing.assert_series_equal(by_process, expected, rtol=1e-9)


def test_feature_scaler_in_blocks_equals_the_whole_array_computation(higgs_tiny, monkeypatch) -> None:
    data = higgs_tiny.train.iloc[:3_001].copy()
    data.loc[data.index[::3], "DER_mass_jet_jet"] = UNDEFINED
    data["DER_prodeta_jet_jet"] = UNDEFINED  # never defined: mean 0, standard deviation 1
    rows = np.random.default_rng(0).random(len(data)) < 0.7
    whole = FeatureScaler(FEATURES).fit(data[rows])
    monkeypatch.setattr(FeatureScaler, "CHUNK_ROWS", 97)
    blocks = FeatureScaler(FEATURES).fit(data, rows)
    # the reference: nanmean / nanstd over the selected rows' defined values
    x = data[list(FEATURES)].to_numpy(np.float64)[rows]
    x[:, blocks.log_scaled_] = np.log1p(np.maximum(x[:, blocks.log_scaled_], 0.0))
    masked = np.where(data[list(FEATURES)].to_numpy()[rows] == UNDEFINED, np.nan, x)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference_mean = np.nan_to_num(np.nanmean(masked, axis=0))
        reference_std = np.nan_to_num(np.nanstd(masked, axis=0), nan=1.0)
    reference_std[reference_std == 0] = 1.0
    for scaler in (whole, blocks):
        np.testing.assert_allclose(scaler.mean_, reference_mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(scaler.std_, reference_std, rtol=1e-12)
    assert blocks.mean_[FEATURES.index("DER_prodeta_jet_jet")] == 0.0
    assert blocks.std_[FEATURES.index("DER_prodeta_jet_jet")] == 1.0
    # transform by blocks and by mask: the same rows as transforming the selected frame at once
    monkeypatch.setattr(FeatureScaler, "CHUNK_ROWS", 1 << 30)
    at_once = blocks.transform(data[rows])
    monkeypatch.setattr(FeatureScaler, "CHUNK_ROWS", 97)
    np.testing.assert_array_equal(blocks.transform(data, rows), at_once)
    assert at_once.dtype == np.float32 and at_once.shape == (rows.sum(), len(FEATURES))
    assert np.all(at_once[:, FEATURES.index("DER_prodeta_jet_jet")] == -3.0)
    with pytest.raises(ValueError, match="lacks feature column"):
        blocks.transform(data.drop(columns=["PRI_met"]))


def test_neural_net_learns_and_is_seeded(higgs_tiny, nominal_test) -> None:
    train = systematics(higgs_tiny.train, seed=0)
    scores = []
    for _ in range(2):
        clf = NeuralNetClassifier(FEATURES, hidden=(32, 32, 32), epochs=2, batch_size=1024, device="cpu", seed=4)
        clf.fit(train, train["labels"].to_numpy(), train["weights"].to_numpy())
        scores.append(clf.decision_score(nominal_test))
    np.testing.assert_array_equal(scores[0], scores[1])
    assert np.all((scores[0] > 0) & (scores[0] < 1))
    assert roc_auc(nominal_test["labels"], scores[0], nominal_test["weights"]) > 0.85
    with pytest.raises(RuntimeError, match="before fit"):
        NeuralNetClassifier(FEATURES).decision_score(nominal_test)


def held_out_loss(clf: NeuralNetClassifier, built: pd.DataFrame) -> float:
    """The class-balanced cross-entropy of a fitted network on its own held-out rows."""
    held = clf.held_out(built)
    y, w = built["labels"].to_numpy()[held], built["weights"].to_numpy()[held]
    p = np.clip(clf.decision_score(built[held]), 1e-12, 1 - 1e-12)
    weights = balanced_weights(y, w)
    return float(np.sum(weights * -(y * np.log(p) + (1 - y) * np.log(1 - p))) / np.sum(weights))


def test_network_on_shifted_copies_holds_out_whole_events_and_keeps_its_best_epoch(higgs_tiny) -> None:
    # 2,000 events seen in 9 copies per epoch: the network memorises them within a few epochs,
    # as the parameterised network did at 10 fb^-1 (docs/results.md).
    events = higgs_tiny.train.sample(2_000, random_state=2)
    built = NuisanceAugmentation(n_draws=8, spread=3.0, seed=1).build(events)
    y, w = built["labels"].to_numpy(), built["weights"].to_numpy()
    clf = NeuralNetClassifier(
        FEATURES,
        hidden=(128, 128, 128),
        epochs=40,
        batch_size=256,
        nuisance_inputs=True,
        validation_fraction=0.2,
        patience=3,
        device="cpu",
        seed=3,
    )
    held = clf.held_out(built)
    source = built[SOURCE_EVENT].to_numpy()
    assert not set(source[held]) & set(source[~held])  # no event on both sides
    assert 0.1 < held.mean() < 0.3
    clf.fit(built, y, w)
    validation = [r["validation_loss"] for r in clf.history_]
    assert len(validation) < 40  # stopped by its patience
    assert clf.best_epoch_ == len(validation) - 3 and validation[-1] > min(validation)
    # the network kept is the best epoch's: its loss on the held-out copies is the minimum
    assert held_out_loss(clf, built) == pytest.approx(min(validation), rel=1e-4)


def test_adversarial_network_keeps_the_epoch_of_its_best_held_out_objective(higgs_tiny) -> None:
    events = higgs_tiny.train.sample(2_000, random_state=5)
    built = NuisanceAugmentation(n_draws=4, spread=3.0, seed=2).build(events)
    y, w = built["labels"].to_numpy(), built["weights"].to_numpy()
    clf = NeuralNetClassifier(
        FEATURES,
        hidden=(64, 64),
        epochs=6,
        batch_size=256,
        adversary_weight=2.0,
        validation_fraction=0.2,
        patience=6,
        device="cpu",
        seed=1,
    )
    clf.fit(built, y, w)
    history = clf.history_
    for record in history:  # the objective the network minimises, on the held-out events
        objective = record["validation_classifier_loss"] - 2.0 * record["validation_adversary_loss"]
        assert record["validation_loss"] == pytest.approx(objective, rel=1e-9)
        assert record["validation_adversary_loss"] > 0.0
    best = int(np.argmin([r["validation_loss"] for r in history]))
    assert clf.best_epoch_ == best + 1
    # the network kept is that epoch's: its classification loss on the held-out copies
    assert held_out_loss(clf, built) == pytest.approx(history[best]["validation_classifier_loss"], rel=1e-4)
    assert CLASSIFIERS["nn-adversarial"].make("tiny", "cpu", 0).validation_fraction > 0


def test_parameterised_network_responds_to_its_nuisance_inputs(higgs_tiny, nominal_test) -> None:
    estimator = challenges.get("higgs-uncertainty").baseline("nn-parameterised-template-fit").factory("tiny", "cpu", 0)
    augmented = estimator.augmentation.build(higgs_tiny.train)
    clf = estimator.classifier.fit(augmented, augmented["labels"].to_numpy(), augmented["weights"].to_numpy())
    assert clf.network_[0].in_features == len(FEATURES) + len(NUISANCE_COLUMNS)
    shifted = nominal_test.assign(nu_tes=1.05)
    assert not np.allclose(clf.decision_score(nominal_test), clf.decision_score(shifted))


@pytest.mark.parametrize(
    "method", ["bdt-counting", "nn-deep-all-template-fit", "nn-adversarial-counting", "bdt-likelihood-ratio"]
)
@pytest.mark.slow
def test_baseline_covers_on_the_tiny_preset(method, higgs_tiny, fitted_on_tiny) -> None:
    estimator = fitted_on_tiny(method)
    plan = make_test_plan(10, 10, initial_seed=3)
    results = evaluate_plan(estimator, higgs_tiny.test, plan, progress=False)
    metrics = score_results(results, n_bootstrap=0)
    assert metrics["n_failed"] == 0
    s = sigma68(len(plan))
    assert CONFIDENCE_LEVEL - 3 * s <= metrics["coverage"] <= CONFIDENCE_LEVEL + 3 * s, metrics
    assert metrics["width"] < 3 * (MU_RANGE[1] - MU_RANGE[0])  # informative: the tiny networks are weak
    assert ((results["p16"] <= results["mu_hat"]) & (results["mu_hat"] <= results["p84"])).all()


def test_counting_cut_keeps_a_pure_signal_region(higgs_tiny, fitted_on_tiny) -> None:
    estimator = fitted_on_tiny("bdt-counting")
    counting = estimator.inference
    assert isinstance(counting, CountingExperiment)
    assert 0.0 < counting.threshold_ < 1.0
    nominal = systematics(higgs_tiny.test, seed=0)
    selected = estimator.decision_score(nominal) >= counting.threshold_
    signal = nominal["labels"].to_numpy() == 1
    w = nominal["weights"].to_numpy()
    purity_after = w[selected & signal].sum() / w[selected].sum()
    purity_before = w[signal].sum() / w.sum()
    assert purity_after > 5 * purity_before
    assert w[selected & signal].sum() >= 0.05 * w[signal].sum()


def test_likelihood_ratio_follows_mu_below_zero(fitted_on_tiny) -> None:
    """mu < 0 is inside the fit's limits: -ln L must keep changing with mu there (a signal yield
    clipped at zero left it flat, and MIGRAD wandered; the interval then fell back to HESSE or
    ran to the limit)."""
    fit = fitted_on_tiny("bdt-likelihood-ratio").inference
    rng = np.random.default_rng(0)
    # Background-like events: small density ratios, spread over the score bins.
    ratio = np.exp(rng.normal(-3.0, 1.0, 5000))
    bins = rng.integers(0, len(fit.edges_) - 1, 5000)
    mus = np.linspace(-0.6, 0.6, 7)
    nll = np.array([fit.negative_log_likelihood_events((mu, *NOMINAL_PARAMETERS[1:]), ratio, bins) for mu in mus])
    assert np.all(np.diff(nll[mus <= 0]) != 0), nll
    assert np.all(np.diff(nll, 2) > 0), nll  # convex in mu through zero


@pytest.mark.slow
def test_likelihood_ratio_is_unbiased_where_its_ratio_is_exact(higgs_tiny, fitted_on_tiny) -> None:
    """Pseudo-experiments drawn from the events the ratio was estimated on: the unbinned
    likelihood itself must then be unbiased and cover (no shape systematics active)."""
    estimator = fitted_on_tiny("bdt-likelihood-ratio")
    assert isinstance(estimator.inference, LikelihoodRatioFit)
    ratios = estimator.inference.log_ratio(np.array([0.01, 0.5, 0.99]))
    assert ratios[0] < ratios[1] < ratios[2]  # calibration keeps the score's order
    assert estimator.inference.spurious_mu_ > 0
    estimator.inference.spurious_mu_ = 0.0  # the likelihood alone: no term for a ratio that is exact here
    _, template_set = split_by_process(higgs_tiny.train, estimator.classifier_fraction, estimator.seed)
    plan = make_test_plan(10, 20, initial_seed=8, active_systematics=())
    results = evaluate_plan(estimator, template_set, plan, progress=False)
    metrics = score_results(results, n_bootstrap=0)
    pull = (results["mu_hat"] - results["mu_true"]) / results["delta_mu_hat"]
    assert metrics["n_failed"] == 0
    assert abs(pull.mean()) < 3 / np.sqrt(len(plan)) + 0.1
    s = sigma68(len(plan))
    assert CONFIDENCE_LEVEL - 3 * s <= metrics["coverage"] <= CONFIDENCE_LEVEL + 3 * s, metrics
