"""LHCO anomaly detectors: each finds a strong injected resonance, reproduces, and refuses bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import ks_2samp, norm
from sklearn.metrics import roc_auc_score

from hepbench import challenges
from hepbench.baselines.lhco.anomaly_classifier import AnomalyClassifier
from hepbench.baselines.lhco.cathode import sample_masses
from hepbench.baselines.lhco.cwola import CWoLaHunting
from hepbench.baselines.lhco.density import ConditionalDensity
from hepbench.challenges.lhco.protocol import AnomalyInputs
from hepbench.challenges.lhco.schema import COLUMNS, FEATURES, SIGNAL_REGION
from hepbench.challenges.lhco.testing import toy_events

METHODS = ("supervised", "idealized-ad", "cwola-hunting", "anode", "cathode", "autoencoder")
# Tiny trainings on a 10% signal fraction in the signal region: every method should be far from
# random; the supervised classifier close to perfect.
MIN_AUC = {
    "supervised": 0.95,
    "idealized-ad": 0.85,
    "cwola-hunting": 0.85,
    "anode": 0.85,
    "cathode": 0.85,
    "autoencoder": 0.7,
}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The networks are tiny: several torch threads only contend for shared cores (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def in_sr(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame.mjj > SIGNAL_REGION[0]) & (frame.mjj < SIGNAL_REGION[1])]


@pytest.fixture(scope="module")
def inputs() -> AnomalyInputs:
    data = toy_events(40_000, 600, seed=1)
    return AnomalyInputs(
        data=data[list(COLUMNS)],
        background_reference=toy_events(40_000, 0, seed=2)[list(COLUMNS)],
        labelled=in_sr(toy_events(20_000, 2_000, seed=3)),
    )


@pytest.fixture(scope="module")
def test_set() -> pd.DataFrame:
    return in_sr(toy_events(20_000, 2_000, seed=4))


PARTICLE_METHODS = {
    f"{method}-{network}"
    for method in ("supervised", "idealized-ad", "cwola-hunting")
    for network in ("cnn", "gru", "deepsets")
}
"""Particle-level variants, trained in tests/test_lhco_particles.py."""


def test_registry_lists_every_method() -> None:
    assert set(challenges.get("lhco").baselines()) == set(METHODS) | PARTICLE_METHODS
    for b in challenges.get("lhco").baselines().values():
        assert b.challenge == "lhco" and b.description


@pytest.fixture(scope="module")
def fitted(inputs: AnomalyInputs) -> dict[str, object]:
    """Every detector, tiny size, fitted once on ``inputs``."""
    return {m: challenges.get("lhco").baseline(m).factory("tiny", "cpu", 0).fit(inputs) for m in METHODS}


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_detector_finds_injected_resonance(method: str, fitted: dict[str, object], test_set: pd.DataFrame) -> None:
    scores = fitted[method].predict(test_set)
    assert scores.shape == (len(test_set),) and np.all(np.isfinite(scores))
    assert roc_auc_score(test_set.label, scores) > MIN_AUC[method]


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_scores(method: str, test_set: pd.DataFrame) -> None:
    data, labelled = toy_events(10_000, 300, seed=11), in_sr(toy_events(5_000, 500, seed=12))
    inputs = AnomalyInputs(
        data=data[list(COLUMNS)], background_reference=toy_events(10_000, 0, seed=13), labelled=labelled
    )
    events = test_set.iloc[:500]
    first = challenges.get("lhco").baseline(method).factory("tiny", "cpu", 7).fit(inputs).predict(events)
    again = challenges.get("lhco").baseline(method).factory("tiny", "cpu", 7).fit(inputs).predict(events)
    other = challenges.get("lhco").baseline(method).factory("tiny", "cpu", 8).fit(inputs).predict(events)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


class _RecordingClassifier:
    """Stands in for the classifier to see the weights CWoLa hunting trains with."""

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray) -> _RecordingClassifier:
        self.y, self.w = y, sample_weight
        return self


def test_cwola_weights_half_signal_region_quarter_per_strip(inputs: AnomalyInputs) -> None:
    detector = CWoLaHunting(classifier=_RecordingClassifier(), sideband_width=0.2).fit(inputs)
    y, w = detector.classifier_.y, detector.classifier_.w
    mass = inputs.data.mjj.to_numpy()
    n_lower = int(((mass > 3.1) & (mass <= 3.3)).sum())
    assert w.sum() == pytest.approx(1.0)
    assert w[y == 1].sum() == pytest.approx(0.5)
    assert w[y == 0][:n_lower].sum() == pytest.approx(0.25)
    assert w[y == 0][n_lower:].sum() == pytest.approx(0.25)


def test_classifier_averages_its_lowest_validation_loss_epochs() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=2_000) > 0).astype(float)
    clf = AnomalyClassifier(epochs=6, batch_size=256, n_best=3, device="cpu").fit(x, y)
    losses = np.array([h["validation_loss"] for h in clf.history_])
    assert sorted(clf.best_epochs_) == sorted(np.argsort(losses, kind="stable")[:3].tolist())
    assert len(clf.networks_) == 3
    assert roc_auc_score(y, clf.predict(x)) > 0.85


def test_density_is_normalised_in_original_units_and_samples_follow_it() -> None:
    """x | m ~ Normal(0.2 m, 0.05): the flow's log_prob (Jacobian of the logit map included)
    matches the true log density, and its samples match the truth."""
    rng = np.random.default_rng(0)
    m = rng.uniform(2.8, 4.2, 8_000)
    x = rng.normal(0.2 * m, 0.05)[:, None]
    density = ConditionalDensity.for_size("tiny", "cpu", 0)
    density.epochs = 15
    density.fit(x, m)
    m_test = np.full(2_000, 3.5)
    x_test = rng.normal(0.7, 0.05, 2_000)[:, None]
    gap = density.log_prob(x_test, m_test) - norm.logpdf(x_test[:, 0], 0.7, 0.05)
    assert abs(np.median(gap)) < 0.15
    samples = density.sample(m_test, seed=1)[:, 0]
    assert abs(samples.mean() - 0.7) < 0.01 and abs(samples.std() - 0.05) < 0.01


def test_a_tail_event_far_beyond_float32_keeps_a_finite_log_density() -> None:
    """A deep flow can stretch a tail event's latent value past 1e19, where the Gaussian term
    overflows float32: log_prob is evaluated in float64 and stays finite (ANODE subtracts two)."""
    rng = np.random.default_rng(3)
    m = rng.uniform(2.8, 4.2, 2_000)
    x = rng.normal(0.2 * m, 0.05)[:, None]
    density = ConditionalDensity(transforms=2, hidden=16, epochs=1, batch_size=256, n_best=1).fit(x, m)
    with torch.no_grad():
        for block in density.flows_[0].transform.transforms:
            block.hyper[-1].bias += 1e30  # every shift 1e30 (the scale is bounded by zuko)
    log_p = density.log_prob(x[:50], m[:50])
    assert np.isfinite(log_p).all() and (log_p < -1e50).all()


def test_the_full_flow_stops_once_its_validation_loss_stops_improving() -> None:
    """The anchor's 100 epochs, with early stopping: a density whose validation loss no longer
    falls stops, and keeps its best epochs (at most n_best) from those it trained."""
    assert ConditionalDensity.for_size("full").patience == 20
    rng = np.random.default_rng(1)
    m = rng.uniform(2.8, 4.2, 2_000)
    x = rng.normal(0.2 * m, 0.05)[:, None]
    density = ConditionalDensity(transforms=2, hidden=16, epochs=60, batch_size=256, learning_rate=3e-2)
    density.n_best, density.patience = 3, 2
    density.fit(x, m)
    trained = len(density.history_)
    assert trained < 60
    losses = [h["validation_loss"] for h in density.history_]
    best = int(np.argmin(losses))
    assert trained == best + 3  # stopped after two epochs without a new best
    assert sorted(density.best_epochs_) == sorted(np.argsort(losses, kind="stable")[:3].tolist())


def test_a_deep_flow_starting_at_the_identity_is_the_standard_normal_of_the_features() -> None:
    """The full recipe's 15 blocks start at the identity: before training, log p(x | m) is the
    standard normal log density of the standardised logits plus the map's Jacobian, however far
    out an event lies (randomly initialised, such a flow gives -1e28 in the tails)."""
    rng = np.random.default_rng(2)
    m = rng.uniform(2.8, 4.2, 4_000)
    x = np.column_stack([rng.lognormal(-2.0, 0.8, 4_000), rng.uniform(0.05, 1.0, 4_000)])
    density = ConditionalDensity.for_size("full", "cpu", 0)
    assert density.identity_start and density.transforms == 15
    density.epochs, density.n_best = 1, 1
    density.fit(x, m)  # sets the preprocessing (logit map, standardisation)
    flow = density._flow(2)  # a new flow, before any training
    z, context, log_jacobian = density._to_latent(x, m)
    with torch.no_grad():
        log_p = flow(torch.as_tensor(context, dtype=torch.float32)).log_prob(torch.as_tensor(z, dtype=torch.float32))
    assert np.allclose(log_p.numpy(), norm.logpdf(z).sum(axis=1), atol=1e-4)
    assert np.isfinite(log_jacobian).all()


def test_cathode_masses_follow_the_signal_region_and_stay_inside() -> None:
    rng = np.random.default_rng(0)
    mass = 3.3 + 0.4 * rng.beta(2.0, 3.0, 5_000)
    drawn = sample_masses(mass, 20_000, SIGNAL_REGION, seed=0)
    assert len(drawn) == 20_000 and drawn.min() > 3.3 and drawn.max() < 3.7
    assert ks_2samp(mass, drawn).pvalue > 1e-3


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_missing_feature_column_is_named(method: str, inputs: AnomalyInputs) -> None:
    broken = AnomalyInputs(
        data=inputs.data.drop(columns="tau21_j1"),
        background_reference=inputs.background_reference.drop(columns="tau21_j1"),
        labelled=inputs.labelled.drop(columns="tau21_j1"),
    )
    with pytest.raises(ValueError, match="tau21_j1"):
        challenges.get("lhco").baseline(method).factory("tiny", "cpu", 0).fit(broken)


@pytest.mark.parametrize("method", METHODS)
def test_nan_is_named_with_its_column(method: str, inputs: AnomalyInputs) -> None:
    def poisoned(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[in_sr(frame).index[0], "mj1"] = np.nan  # in the signal region, seen by every method
        return frame

    broken = AnomalyInputs(
        data=poisoned(inputs.data),
        background_reference=poisoned(inputs.background_reference),
        labelled=poisoned(inputs.labelled),
    )
    with pytest.raises(ValueError, match="NaN.*mj1"):
        challenges.get("lhco").baseline(method).factory("tiny", "cpu", 0).fit(broken)


@pytest.mark.parametrize("method", METHODS)
def test_no_signal_region_events_is_refused(method: str, inputs: AnomalyInputs) -> None:
    def outside(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame.mjj < SIGNAL_REGION[0]) | (frame.mjj > SIGNAL_REGION[1])]

    broken = AnomalyInputs(
        data=outside(inputs.data),
        background_reference=outside(inputs.background_reference),
        labelled=outside(toy_events(5_000, 500, seed=9)),
    )
    with pytest.raises(ValueError, match="no events in the signal region"):
        challenges.get("lhco").baseline(method).factory("tiny", "cpu", 0).fit(broken)


@pytest.mark.parametrize(("method", "field"), [("idealized-ad", "background_reference"), ("supervised", "labelled")])
def test_privileged_inputs_are_required(method: str, field: str, inputs: AnomalyInputs) -> None:
    with pytest.raises(ValueError, match=f"inputs.{field} is required"):
        challenges.get("lhco").baseline(method).factory("tiny", "cpu", 0).fit(AnomalyInputs(data=inputs.data))


def test_supervised_needs_the_label_column(inputs: AnomalyInputs) -> None:
    broken = AnomalyInputs(data=inputs.data, labelled=inputs.labelled.drop(columns="label"))
    with pytest.raises(ValueError, match="label"):
        challenges.get("lhco").baseline("supervised").factory("tiny", "cpu", 0).fit(broken)


def test_predict_names_a_missing_column(fitted: dict[str, object], test_set: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="events lacks column.*'mjj'"):
        fitted["anode"].predict(test_set[list(FEATURES)])
    for detector in fitted.values():
        with pytest.raises(ValueError, match="events lacks column.*'delta_m'"):
            detector.predict(test_set.drop(columns="delta_m"))


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        challenges.get("lhco").baseline("cathode").factory("huge", "cpu", 0)


def test_full_size_is_the_anchor_recipe() -> None:
    """SPEC section 2: 3 x 64 MLP, 100 epochs, 10-epoch ensemble; MAF with 15 MADE blocks of 128,
    100 epochs, 10-epoch ensemble; CATHODE samples 4x the signal-region count."""
    cathode = challenges.get("lhco").baseline("cathode").factory("full", "cpu", 0)
    clf, flow = cathode.classifier, cathode.density
    assert (clf.hidden, clf.epochs, clf.n_best, clf.learning_rate) == ((64, 64, 64), 100, 10, 1e-3)
    assert (flow.transforms, flow.hidden, flow.epochs, flow.n_best) == (15, 128, 100, 10)
    assert cathode.oversampling == 4.0
    anode = challenges.get("lhco").baseline("anode").factory("full", "cpu", 0)
    assert anode.signal_region_density.transforms == anode.sideband_density.transforms == 15
    assert challenges.get("lhco").baseline("cwola-hunting").factory("full", "cpu", 0).classifier.epochs == 100


def test_toy_is_seeded_and_mass_shift_correlates_the_masses() -> None:
    plain = toy_events(2_000, 100, seed=3)
    pd.testing.assert_frame_equal(plain, toy_events(2_000, 100, seed=3))
    shifted = toy_events(2_000, 100, seed=3, mass_shift=0.1)
    np.testing.assert_allclose(shifted.mj1 - plain.mj1, 0.1 * plain.mjj)
    np.testing.assert_allclose(shifted.delta_m - plain.delta_m, 0.1 * plain.mjj)
    assert in_sr(plain).label.sum() / plain.label.sum() > 0.9  # the resonance sits in the signal region
