"""How much of a template fit's mean offset comes from the finite simulated samples.

Every pseudo-experiment of a test plan is drawn from one weighted test set, and every answer of a
trained estimator comes from one set of templates. Both are finite samples: where the test set
holds more (or fewer) background events in a signal-like bin than the templates predict, every
pseudo-experiment sees the same excess, and mu_hat - mu_true has the same offset in all of them.
Averaging more pseudo-experiments does not shrink it.

This study measures that offset without Poisson noise (Asimov fits: the observed counts are the
test set's expected counts per bin) and the spread such an offset has when the two samples are
redrawn, from their per-bin simulation errors (sum of squared weights):

- ``nominal``: mu_hat - 1 on the test set's expected counts at mu = 1, nominal nuisances;
- ``draws``: the same at nuisance values drawn from their priors, with mu_true drawn as in a plan;
- ``spread``: the standard deviation of the nominal offset when the expected counts move by
  Gaussian noise of the test set's, the templates' or both simulation errors (replicas);
- ``bins``: per score bin, S / B, and the test set's background over the templates' minus one,
  also in units of the two samples' combined simulation error (``pull``);
- ``asimov_widths``: the interval's width on the templates' own Asimov data set with each group
  of nuisances profiled alone (:func:`template_fit.asimov_widths`), what each one costs;
- ``toy_coverage``: the interval's coverage on binned toys of the fit's own model
  (:func:`toy_coverage`), with the templates held fixed, as every pseudo-experiment of one trained
  estimator sees them, and redrawn from their simulation errors, as over retrainings.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.pseudo_experiments import MU_RANGE
from ...challenges.higgs_uncertainty.systematics import NuisanceParameters, systematics
from .template_fit import BinnedTemplateFit, asimov_widths, profile_interval

TOY_SCENARIOS: dict[str, tuple[float, bool]] = {
    "fixed_templates": (1.0, False),
    "redrawn_templates": (1.0, True),
    "fixed_templates_half_errors": (0.5, False),
    "fixed_templates_no_errors": (0.0, False),
}
"""Scenarios of :func:`fixed_sample_offsets`'s toys: (scale of the templates' simulation errors,
templates redrawn per group of toys). Half errors stand for four times the template events; no
errors for a fit without the per-bin simulation terms."""


def expected_counts(
    fit: BinnedTemplateFit, test_set: pd.DataFrame, nuisances: NuisanceParameters, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per process and score bin of a weighted test set at mu = 1, and their
    simulation variance (sum of squared weights); each of shape (n_processes, n_bins).

    The kinematic nuisances shift the events (soft-MET smearing seeded by ``seed``); scale by
    ``NuisanceParameters.process_norm_array`` for mu and the normalisation nuisances.
    """
    shifted = systematics(test_set, nuisances, seed=seed)
    scores = fit.score_(shifted)
    return fit._histograms(scores, shifted), fit._histograms(scores, shifted, power=2)


def asimov_mu(fit: BinnedTemplateFit, counts: np.ndarray) -> float:
    """mu_hat of the profile-likelihood fit of expected (non-integer) counts per bin."""
    return profile_interval(lambda p: fit.negative_log_likelihood(p, counts))["mu_hat"]


def _nll_of(model: BinnedTemplateFit, observed: np.ndarray, params: Any) -> float:
    return model.negative_log_likelihood(params, observed)


def toy_coverage(
    fit: BinnedTemplateFit,
    *,
    n_toys: int = 2000,
    toys_per_draw: int = 100,
    error_scale: float = 1.0,
    redraw_templates: bool = False,
    seed: int = 0,
) -> dict[str, float]:
    """Coverage of the fit's 68.27% interval on binned toys of its own model.

    Each toy draws mu_true ~ U(MU_RANGE) and the six nuisances from their priors, and Poisson
    counts per bin around the fit's expected yields at those values; the fit then runs on the
    counts. With ``redraw_templates`` the truth differs from the templates by a Gaussian
    fluctuation of their per-bin simulation errors, drawn once per ``toys_per_draw`` toys (one
    trained estimator's test plan); without it the templates are the truth, as they are for
    every pseudo-experiment of one estimator once its draw is made. ``error_scale`` multiplies
    the simulation errors in both the fit and the redraw (0.5: four times the template events;
    0: no simulation terms). Costs one binned fit per toy (about 0.1 s at 10 bins).

    Returns coverage, its binomial standard error, the mean width, and the standard deviation of
    the pull (mu_hat - mu_true over the interval's half on the side of the truth).
    """
    if not isinstance(fit, BinnedTemplateFit) or not hasattr(fit, "nominal_"):
        raise TypeError("toy coverage needs a fitted binned template fit (a *-template-fit method)")
    if n_toys < 1 or toys_per_draw < 1 or error_scale < 0:
        raise ValueError(
            f"need n_toys >= 1, toys_per_draw >= 1, error_scale >= 0; got {n_toys}, {toys_per_draw}, {error_scale}"
        )
    rng = np.random.default_rng([seed, 0x746F79])
    model = copy.copy(fit)
    # A zero error would divide by zero in the per-bin terms; 1e-9 removes them just as well.
    model.mc_relative_error_ = np.maximum(fit.mc_relative_error_ * error_scale, 1e-9)
    covered, widths, pulls = [], [], []
    fluctuation = np.ones(fit.nominal_.shape[1])
    for k in range(n_toys):
        if redraw_templates and k % toys_per_draw == 0:
            fluctuation = 1.0 + rng.normal(0.0, fit.mc_relative_error_ * error_scale)
        nuisances = NuisanceParameters.sample(rng)
        mu = float(rng.uniform(*MU_RANGE))
        params = (
            mu,
            nuisances.tes,
            nuisances.jes,
            float(np.log(nuisances.soft_met)),
            nuisances.bkg_norm,
            nuisances.ttbar_scale,
            nuisances.diboson_scale,
        )
        observed = rng.poisson(np.maximum(model.expected(params) * fluctuation, 0.0)).astype(np.float64)
        answer = profile_interval(functools.partial(_nll_of, model, observed))
        covered.append(answer["p16"] <= mu <= answer["p84"])
        widths.append(answer["p84"] - answer["p16"])
        half = answer["p84"] - answer["mu_hat"] if mu >= answer["mu_hat"] else answer["mu_hat"] - answer["p16"]
        pulls.append((answer["mu_hat"] - mu) / half if half > 0 else np.nan)
    coverage = float(np.mean(covered))
    return {
        "n_toys": n_toys,
        "coverage": coverage,
        "coverage_error": float(np.sqrt(coverage * (1.0 - coverage) / n_toys)),
        "width": float(np.mean(widths)),
        "pull_std": float(np.nanstd(pulls, ddof=1)) if n_toys > 1 else float("nan"),
    }


def fixed_sample_offsets(
    fit: BinnedTemplateFit,
    test_set: pd.DataFrame,
    *,
    n_draws: int = 16,
    n_replicas: int = 100,
    n_toys: int = 2000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The fixed-sample offset of a fitted template fit on ``test_set`` (see the module docstring).

    ``fit`` is a :class:`BinnedTemplateFit` (or subclass) after ``fit``; ``test_set`` the weighted
    events the pseudo-experiments are drawn from. ``seed`` fixes the nuisance draws, the smearing
    and the replicas. Costs one scoring of the test set per draw (plus one), and ``n_toys``
    binned fits per scenario of ``TOY_SCENARIOS``.
    """
    if not isinstance(fit, BinnedTemplateFit) or not hasattr(fit, "nominal_"):
        raise TypeError("the fixed-sample study needs a fitted binned template fit (a *-template-fit method)")
    if n_draws < 2 or n_replicas < 2:
        raise ValueError(f"n_draws and n_replicas must be at least 2, got {n_draws} and {n_replicas}")
    rng = np.random.default_rng([seed, 0x6F6666])
    by_process, squared = expected_counts(fit, test_set, NuisanceParameters(), seed)
    counts, test_variance = by_process.sum(axis=0), squared.sum(axis=0)
    nominal = asimov_mu(fit, counts) - 1.0
    template_variance = (fit.mc_relative_error_ * fit.nominal_.sum(axis=0)) ** 2
    spread = {}
    for name, variance in (
        ("test", test_variance),
        ("templates", template_variance),
        ("both", test_variance + template_variance),
    ):
        replicas = [asimov_mu(fit, counts + rng.normal(0.0, np.sqrt(variance))) - 1.0 for _ in range(n_replicas)]
        spread[name] = float(np.std(replicas, ddof=1))
    if progress:
        progress(f"nominal offset {nominal:+.3f}, spread from the samples {spread['both']:.3f}")
    draws = []
    for k in range(n_draws):
        nuisances = NuisanceParameters.sample(rng)
        mu = float(rng.uniform(*MU_RANGE))
        drawn, _ = expected_counts(fit, test_set, nuisances, seed + 1 + k)
        offset = asimov_mu(fit, nuisances.process_norm_array(mu) @ drawn) - mu
        draws.append({"mu_true": mu, **nuisances.as_dict(), "offset": offset})
        if progress:
            progress(f"draw {k + 1}/{n_draws}: offset {draws[-1]['offset']:+.3f}")
    toys = {}
    for name, (scale, redraw) in TOY_SCENARIOS.items():
        toys[name] = toy_coverage(fit, n_toys=n_toys, error_scale=scale, redraw_templates=redraw, seed=seed)
        if progress:
            progress(f"toys, {name.replace('_', ' ')}: coverage {toys[name]['coverage']:.3f}")
    background = by_process[1:].sum(axis=0)
    template_background = fit.nominal_[1:].sum(axis=0)
    excess = background / template_background - 1.0
    combined_error = np.hypot(fit.mc_relative_error_, np.sqrt(squared[1:].sum(axis=0)) / background)
    offsets = np.array([d["offset"] for d in draws])
    return {
        "nominal": float(nominal),
        "spread": spread,
        "draws": draws,
        "draws_mean": float(offsets.mean()),
        "draws_std": float(offsets.std(ddof=1)),
        "bins": {
            "edges": fit.edges_.tolist(),
            "signal_over_background": (fit.nominal_[0] / template_background).tolist(),
            "template_relative_error": fit.mc_relative_error_.tolist(),
            "test_over_template_background": excess.tolist(),
            "pull": (excess / combined_error).tolist(),
        },
        "asimov_widths": asimov_widths(fit),
        "toy_coverage": toys,
    }
