"""The BDT + binned template fit baseline: templates, likelihood, interval, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan, score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.higgs_uncertainty.systematics import NuisanceParameters, systematics
from hepbench.scoring.intervals import CONFIDENCE_LEVEL, sigma68


@pytest.fixture(scope="module")
def tiny(higgs_tiny):
    return higgs_tiny


@pytest.fixture(scope="module")
def fitted(tiny):
    return challenges.get("higgs-uncertainty").baseline("bdt-template-fit").factory("tiny", "cpu", 0).fit(tiny.train)


def test_asimov_data_returns_the_injected_mu(fitted) -> None:
    fit = fitted.inference
    params = np.array([2.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    asimov = fit.expected(params)
    # feed the expected counts through the same likelihood as real data
    nll_true = fit.negative_log_likelihood(params, asimov)
    nll_off = fit.negative_log_likelihood(np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]), asimov)
    assert nll_true < nll_off
    centres = 0.5 * (fit.edges_[1:] + fit.edges_[:-1])
    scores = np.repeat(centres, np.round(asimov * 50).astype(int))  # 50x the luminosity, rounded
    fit_scaled = fit.nominal_.copy()
    fit.nominal_ = fit_scaled * 50
    try:
        answer = fit.fit_scores(scores)
    finally:
        fit.nominal_ = fit_scaled
    assert answer["mu_hat"] == pytest.approx(2.0, abs=0.15)
    assert answer["p16"] < 2.0 < answer["p84"]
    assert answer["delta_mu_hat"] > 0


def test_response_reproduces_shifted_templates(fitted, tiny) -> None:
    """The interpolated TES response matches the response measured on independent events."""
    fit, clf = fitted.inference, fitted.classifier
    nominal_set = systematics(tiny.test, seed=0)
    shifted_set = systematics(tiny.test, NuisanceParameters(tes=1.02), seed=0)
    nominal = fit._histograms(clf.decision_score(nominal_set), nominal_set).sum(axis=0)
    shifted = fit._histograms(clf.decision_score(shifted_set), shifted_set).sum(axis=0)
    measured = shifted / nominal  # same events shifted: simulation noise mostly cancels
    model = fit.expected([1.0, 1.02, 1.0, -20.0, 1.0, 1.0, 1.0]) / fit.expected([1.0, 1.0, 1.0, -20.0, 1.0, 1.0, 1.0])
    assert np.abs(measured - 1).max() > 0.05  # a 2% tau energy shift visibly moves the bins
    # both sides carry simulation noise (the templates' and this sample's): allow 3 sigma of it
    sum_w2 = fit._histograms(clf.decision_score(nominal_set), nominal_set, power=2).sum(axis=0)
    noise = np.hypot(np.sqrt(sum_w2) / nominal, fit.mc_relative_error_) * np.sqrt(2)
    assert np.all(np.abs(model - measured) < 3 * noise + 0.01), (model, measured, noise)


@pytest.mark.slow
def test_coverage_on_tiny_preset(fitted, tiny) -> None:
    plan = make_test_plan(10, 20, initial_seed=3)
    results = evaluate_plan(fitted, tiny.test, plan, progress=False)
    metrics = score_results(results, n_bootstrap=0)
    assert metrics["n_failed"] == 0
    s = sigma68(len(plan))
    assert CONFIDENCE_LEVEL - 3 * s <= metrics["coverage"] <= CONFIDENCE_LEVEL + 3 * s, metrics
    # the interval is informative: narrower than the prior range of mu
    assert metrics["width"] < 2.9
    assert ((results["p16"] <= results["mu_hat"]) & (results["mu_hat"] <= results["p84"])).all()


def test_fixed_sample_offset_is_within_the_samples_spread(fitted, tiny) -> None:
    """On Asimov counts of the test set, mu_hat - 1 is the offset every pseudo-experiment shares;
    it is of the size the two samples' simulation errors predict."""
    from hepbench.baselines.higgs_uncertainty.fixed_sample import fixed_sample_offsets

    result = fixed_sample_offsets(fitted.inference, tiny.test, n_draws=2, n_replicas=20, n_toys=5, seed=1)
    spread = result["spread"]
    assert 0 < spread["test"] < spread["both"] and 0 < spread["templates"] < spread["both"], spread
    assert abs(result["nominal"]) < 4 * spread["both"], result
    assert len(result["draws"]) == 2 and all(np.isfinite(d["offset"]) for d in result["draws"])
    assert len(result["bins"]["pull"]) == fitted.inference.n_bins
    assert set(result["toy_coverage"]) == {
        "fixed_templates",
        "redrawn_templates",
        "fixed_templates_half_errors",
        "fixed_templates_no_errors",
    }


@pytest.mark.slow
def test_toy_coverage_is_nominal_without_simulation_terms_and_higher_with_them(fitted) -> None:
    """Binned toys of the fit's own model: without the templates' simulation terms the interval
    covers 68.27%; with them, and the templates held fixed, the same toys get wider intervals
    that cover more (what every pseudo-experiment of one trained estimator sees)."""
    from hepbench.baselines.higgs_uncertainty.fixed_sample import toy_coverage

    n = 150
    exact = toy_coverage(fitted.inference, n_toys=n, error_scale=0.0, seed=4)
    half = toy_coverage(fitted.inference, n_toys=n, error_scale=0.5, seed=4)
    full = toy_coverage(fitted.inference, n_toys=n, error_scale=1.0, seed=4)
    s = sigma68(n)
    assert CONFIDENCE_LEVEL - 3 * s <= exact["coverage"] <= CONFIDENCE_LEVEL + 3 * s, exact
    assert 0.8 < exact["pull_std"] < 1.25, exact
    # the same toys (same seed, templates not redrawn): only the fit's simulation terms differ
    assert exact["width"] < half["width"] < full["width"], (exact, half, full)
    assert exact["coverage"] <= half["coverage"] + 2 / n and half["coverage"] <= full["coverage"] + 2 / n
    assert full["pull_std"] < exact["pull_std"], (exact, full)


def test_a_background_excess_in_the_signal_like_bin_raises_the_offset(fitted, tiny) -> None:
    from hepbench.baselines.higgs_uncertainty.fixed_sample import asimov_mu, expected_counts
    from hepbench.challenges.higgs_uncertainty.systematics import NOMINAL

    fit = fitted.inference
    excess = tiny.test.copy()
    signal_like = (excess["labels"].to_numpy() == 0) & (fit.score_(excess) > fit.edges_[-2])
    excess.loc[signal_like, "weights"] *= 1.05
    nominal = expected_counts(fit, tiny.test, NOMINAL, seed=0)[0]
    shifted = expected_counts(fit, excess, NOMINAL, seed=0)[0]
    offsets = [asimov_mu(fit, counts.sum(axis=0)) for counts in (nominal, shifted)]
    signal_top_bin = nominal[0, -1]
    added = 0.05 * excess.loc[signal_like, "weights"].sum() / 1.05
    # the added background is read as signal, at most as much as it is of the signal's top bin
    assert 0.2 * added / signal_top_bin < offsets[1] - offsets[0] <= 1.05 * added / signal_top_bin, (offsets, added)


def test_minos_sets_the_interval_at_high_luminosity(fitted) -> None:
    """With a million events per bin (-ln L near -1e7) the interval is still MINOS's: asymmetric,
    each end where the profile likelihood is 0.5 above its minimum (not a HESSE fallback)."""
    import copy

    from iminuit import Minuit

    from hepbench.baselines.higgs_uncertainty.template_fit import (
        NOMINAL_PARAMETERS,
        PARAMETER_LIMITS,
        PARAMETERS,
        profile_interval,
    )

    fit = copy.copy(fitted.inference)
    fit.nominal_ = fit.nominal_ * (1e6 / fit.nominal_.sum(axis=0).min())
    asimov = fit.expected(NOMINAL_PARAMETERS)
    assert asimov.min() > 9e5
    minimum = fit.negative_log_likelihood(NOMINAL_PARAMETERS, asimov)

    def profile(mu: float) -> float:
        """-ln L minimised over the nuisances at fixed mu."""
        m = Minuit(
            lambda *p: fit.negative_log_likelihood(p, asimov) - minimum, mu, *NOMINAL_PARAMETERS[1:], name=PARAMETERS
        )
        m.errordef = Minuit.LIKELIHOOD
        for name, limits in PARAMETER_LIMITS.items():
            m.limits[name] = limits
        m.fixed["mu"] = True
        m.migrad()
        return m.fval

    answer = profile_interval(lambda p: fit.negative_log_likelihood(p, asimov))
    assert answer["mu_hat"] == pytest.approx(1.0, abs=1e-3)
    lower, upper = 1.0 - answer["p16"], answer["p84"] - 1.0
    assert abs(upper - lower) > 1e-3 * (upper + lower), answer  # a HESSE interval is symmetric
    for end in (answer["p16"], answer["p84"]):
        assert profile(end) == pytest.approx(0.5, abs=0.02), end


def test_asimov_widths_grow_with_each_profiled_nuisance(fitted) -> None:
    """Profiling a nuisance can only widen the interval: no group is narrower than every nuisance
    fixed, and all of them profiled is the widest (the interval a pseudo-experiment gets)."""
    from hepbench.baselines.higgs_uncertainty.template_fit import PROFILED_GROUPS, asimov_widths

    widths = asimov_widths(fitted.inference)
    assert set(widths) == set(PROFILED_GROUPS)
    for group, width in widths.items():
        assert widths["none"] * 0.999 <= width <= widths["all"] * 1.001, (group, widths)
    assert widths["all"] > 1.01 * widths["none"], widths
