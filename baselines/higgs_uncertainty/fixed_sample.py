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
  of nuisances profiled alone (:func:`template_fit.asimov_widths`), what each one costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...challenges.higgs_uncertainty.pseudo_experiments import MU_RANGE
from ...challenges.higgs_uncertainty.systematics import NuisanceParameters, systematics
from .template_fit import BinnedTemplateFit, asimov_widths, profile_interval


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


def fixed_sample_offsets(
    fit: BinnedTemplateFit,
    test_set: pd.DataFrame,
    *,
    n_draws: int = 16,
    n_replicas: int = 100,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The fixed-sample offset of a fitted template fit on ``test_set`` (see the module docstring).

    ``fit`` is a :class:`BinnedTemplateFit` (or subclass) after ``fit``; ``test_set`` the weighted
    events the pseudo-experiments are drawn from. ``seed`` fixes the nuisance draws, the smearing
    and the replicas. Costs one scoring of the test set per draw (plus one).
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
    }
