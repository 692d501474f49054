"""Binned template fit of the signal strength with all six nuisance parameters.

The classifier score is binned; each process's expected yield per bin is a nominal template
times, for each kinematic nuisance (tau and jet energy scale, soft MET), a polynomial response
fitted to templates rebuilt at shifted values of that nuisance. Normalisation nuisances scale
whole processes. The Poisson likelihood with constraint terms is minimised with iminuit
(MIGRAD); the 68.27% interval on mu comes from the profile likelihood (MINOS).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
import pandas as pd
from iminuit import Minuit

from ...challenges.higgs_uncertainty.schema import PROCESSES
from ...challenges.higgs_uncertainty.systematics import (
    NUISANCE_PRIORS,
    NuisanceParameters,
    systematics,
)

SHAPE_NUISANCES: tuple[str, ...] = ("tes", "jes", "soft_met")
DEFAULT_GRIDS: dict[str, tuple[float, ...]] = {
    "tes": (0.97, 0.98, 0.99, 1.01, 1.02, 1.03),
    "jes": (0.97, 0.98, 0.99, 1.01, 1.02, 1.03),
    "soft_met": (0.5, 1.0, 2.0, 3.0, 4.0, 5.0),
}
PARAMETERS: tuple[str, ...] = ("mu", "tes", "jes", "log_soft_met", "bkg_norm", "ttbar_scale", "diboson_scale")
# soft_met is lognormal(0, 1): fitting its log turns the prior into a unit Gaussian constraint.
_CONSTRAINTS: dict[str, tuple[float, float]] = {
    "tes": (NUISANCE_PRIORS["tes"].loc, NUISANCE_PRIORS["tes"].scale),
    "jes": (NUISANCE_PRIORS["jes"].loc, NUISANCE_PRIORS["jes"].scale),
    "log_soft_met": (NUISANCE_PRIORS["soft_met"].loc, NUISANCE_PRIORS["soft_met"].scale),
    "bkg_norm": (NUISANCE_PRIORS["bkg_norm"].loc, NUISANCE_PRIORS["bkg_norm"].scale),
    "ttbar_scale": (NUISANCE_PRIORS["ttbar_scale"].loc, NUISANCE_PRIORS["ttbar_scale"].scale),
    "diboson_scale": (NUISANCE_PRIORS["diboson_scale"].loc, NUISANCE_PRIORS["diboson_scale"].scale),
}
PARAMETER_LIMITS: dict[str, tuple[float, float]] = {
    "mu": (-20.0, 50.0),
    "tes": (0.9, 1.1),
    "jes": (0.9, 1.1),
    "log_soft_met": (-8.0, float(np.log(NUISANCE_PRIORS["soft_met"].high))),
    "bkg_norm": (0.95, 1.05),
    "ttbar_scale": (0.5, 1.5),
    "diboson_scale": (0.0, 3.0),
}


class BinnedTemplateFit:
    """Profile-likelihood fit of mu on binned classifier scores.

    Parameters
    ----------
    n_bins:
        Number of score bins; edges are quantiles of the nominal signal score, so every bin
        holds the same expected signal.
    grids:
        Values of each kinematic nuisance at which templates are rebuilt.
    degree:
        Degree of the per-bin polynomial response (constant term fixed to 1 at nominal).
    seed:
        Seed of the soft-MET smearing while building templates.
    """

    def __init__(
        self,
        n_bins: int = 10,
        grids: dict[str, Sequence[float]] | None = None,
        degree: int = 2,
        seed: int = 0,
    ) -> None:
        self.n_bins = n_bins
        self.grids = grids
        self.degree = degree
        self.seed = seed

    # -- templates ---------------------------------------------------------------------
    def _bounded(self, scores: np.ndarray) -> np.ndarray:
        """Scores moved into the binned range (every event counts in some bin)."""
        return np.clip(scores, self.edges_[0], self.edges_[-1])

    def _histograms(self, scores: np.ndarray, frame: pd.DataFrame, power: int = 1) -> np.ndarray:
        """Per-process histograms of the scores weighted by weight**power, shape (n_processes, n_bins)."""
        labels = frame["detailed_labels"].to_numpy()
        weights = frame["weights"].to_numpy(np.float64) ** power
        bounded = self._bounded(scores)
        return np.stack(
            [np.histogram(bounded[labels == p], self.edges_, weights=weights[labels == p])[0] for p in PROCESSES]
        )

    def _choose_edges(self, scores: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """Bin edges in [0, 1]: quantiles of the nominal signal score (equal expected signal per bin)."""
        is_signal = frame["detailed_labels"].to_numpy() == "htautau"
        quantiles = np.linspace(0.0, 1.0, self.n_bins + 1)[1:-1]
        sig_w = frame["weights"].to_numpy()[is_signal]
        order = np.argsort(scores[is_signal])
        cdf = np.cumsum(sig_w[order]) / sig_w.sum()
        inner = scores[is_signal][order][np.searchsorted(cdf, quantiles)]
        return np.concatenate([[0.0], np.unique(inner), [1.0]])

    def fit(self, score: Callable[[pd.DataFrame], np.ndarray], template_set: pd.DataFrame) -> BinnedTemplateFit:
        """Build the templates from a weighted template set.

        ``score`` maps a frame of events to classifier scores (n_events,). The template set's
        weights must be the expected yields of a pseudo-experiment at nominal normalisation.
        """
        grids = {k: tuple(v) for k, v in (self.grids or DEFAULT_GRIDS).items()}
        self.score_ = score
        nominal_set = systematics(template_set, seed=self.seed)
        nominal_scores = score(nominal_set)
        self.edges_ = self._choose_edges(nominal_scores, nominal_set)
        self.nominal_ = self._histograms(nominal_scores, nominal_set)
        if np.any(self.nominal_.sum(axis=0) <= 0):
            raise ValueError("a score bin has no expected events; use fewer bins or a larger template set")
        sum_w2 = self._histograms(nominal_scores, nominal_set, power=2).sum(axis=0)
        self.mc_relative_error_ = np.sqrt(sum_w2) / self.nominal_.sum(axis=0)

        n_proc, n_bins = self.nominal_.shape
        self.response_ = np.zeros((len(SHAPE_NUISANCES), n_proc, n_bins, self.degree))
        safe_nominal = np.where(self.nominal_ > 0, self.nominal_, 1.0)
        for k, name in enumerate(SHAPE_NUISANCES):
            x = np.asarray(grids[name]) - NUISANCE_PRIORS[name].nominal
            ratios = []
            for value in grids[name]:
                shifted = systematics(template_set, NuisanceParameters(**{name: value}), seed=self.seed)
                ratios.append(self._histograms(score(shifted), shifted) / safe_nominal - 1.0)
            design = np.stack([x**d for d in range(1, self.degree + 1)], axis=1)  # (n_grid, degree)
            target = np.stack(ratios).reshape(len(x), -1)  # (n_grid, n_proc * n_bins)
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
            self.response_[k] = coef.T.reshape(n_proc, n_bins, self.degree)
        return self

    # -- likelihood ----------------------------------------------------------------------
    def expected_by_process(self, params: Sequence[float]) -> np.ndarray:
        """Expected events per process and bin (n_processes, n_bins), parameters in ``PARAMETERS`` order."""
        mu, tes, jes, log_soft, bkg, ttbar, diboson = params
        shape = np.ones_like(self.nominal_)
        for k, x in enumerate((tes - 1.0, jes - 1.0, np.exp(log_soft))):
            powers = x ** np.arange(1, self.degree + 1)
            shape *= np.maximum(1.0 + self.response_[k] @ powers, 1e-6)
        norms = np.array([mu, bkg, ttbar * bkg, diboson * bkg])
        return norms[:, None] * self.nominal_ * shape

    def expected(self, params: Sequence[float]) -> np.ndarray:
        """Expected events per bin (n_bins,) for parameters in ``PARAMETERS`` order."""
        return self.expected_by_process(params).sum(axis=0)

    def constraint_nll(self, params: Sequence[float]) -> float:
        """Gaussian constraint terms of the nuisance parameters (-ln of their priors)."""
        nll = 0.0
        for name, value in zip(PARAMETERS[1:], params[1:]):
            mean, sigma = _CONSTRAINTS[name]
            nll += 0.5 * ((value - mean) / sigma) ** 2
        return nll

    def negative_log_likelihood(self, params: Sequence[float], observed: np.ndarray) -> float:
        """-ln L: Poisson terms with per-bin simulation nuisances profiled, plus constraints."""
        nu = np.maximum(self.expected(params), 1e-9)
        # Per-bin gamma minimising gamma nu - n ln(gamma nu) + (gamma - 1)^2 / (2 delta^2):
        # the positive root of gamma^2 / delta^2 + gamma (nu - 1 / delta^2) - n = 0.
        a = 1.0 / self.mc_relative_error_**2
        b = nu - a
        disc = np.sqrt(b**2 + 4.0 * a * observed)
        gamma = np.where(b >= 0, 2.0 * observed / np.where(b + disc > 0, b + disc, 1.0), (disc - b) / (2.0 * a))
        mean = np.maximum(gamma * nu, 1e-9)
        # Poisson terms relative to the saturated model, mean - n - n ln(mean / n): the same
        # minimum and intervals as mean - n ln(mean), but each bin's term is of the order of its
        # changes (at a million events per bin the plain form loses the 0.5 MINOS resolves).
        ratio = np.where(observed > 0, mean / np.where(observed > 0, observed, 1.0), 1.0)
        poisson = mean - observed - observed * np.log(ratio)
        return float(np.sum(poisson) + 0.5 * np.sum(a * (gamma - 1.0) ** 2)) + self.constraint_nll(params)

    def fit_scores(self, scores: np.ndarray) -> dict[str, float]:
        """Fit one pseudo-experiment's scores (n_events,); returns mu_hat, delta_mu_hat, p16, p84."""
        if not hasattr(self, "nominal_"):
            raise RuntimeError(f"{type(self).__name__} used before fit")
        observed = np.histogram(self._bounded(scores), self.edges_)[0].astype(np.float64)
        return profile_interval(lambda p: self.negative_log_likelihood(p, observed))

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        """Score one pseudo-experiment's events with the classifier and fit them."""
        return self.fit_scores(self.score_(data))


NOMINAL_PARAMETERS: tuple[float, ...] = (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0)
"""mu = 1 and every nuisance at its nominal value, in ``PARAMETERS`` order (the fit's start)."""

PROFILED_GROUPS: dict[str, tuple[str, ...]] = {
    "none": (),
    "tes": ("tes",),
    "jes": ("jes",),
    "soft_met": ("log_soft_met",),
    "normalisations": ("bkg_norm", "ttbar_scale", "diboson_scale"),
    "all": PARAMETERS[1:],
}
"""Nuisances profiled in each line of :func:`asimov_widths`; the others stay at nominal."""


def profile_interval(nll: Callable[[Sequence[float]], float], fixed: Collection[str] = ()) -> dict[str, float]:
    """Minimise ``nll`` over ``PARAMETERS`` (MIGRAD) and return mu_hat with its 68.27% profile
    likelihood interval (MINOS; the HESSE error when MINOS fails). The parameters named in
    ``fixed`` stay at their nominal values (``NOMINAL_PARAMETERS``)."""
    # MINUIT judges convergence against a precision relative to |nll|; a -ln L of about -1e7
    # (10 fb^-1) leaves no room for the 0.5 step MINOS looks for, and MINOS fails. Minimising
    # nll - nll(start), a constant shift, keeps the function small for any caller (the unbinned
    # likelihood ratio too). It cannot restore digits that a large nll already lost to
    # cancellation; the binned fit avoids that by computing its terms relative to the saturated
    # model (negative_log_likelihood).
    offset = float(nll(NOMINAL_PARAMETERS))
    if not np.isfinite(offset):
        offset = 0.0
    minuit = Minuit(lambda *p: nll(p) - offset, *NOMINAL_PARAMETERS, name=PARAMETERS)
    minuit.errordef = Minuit.LIKELIHOOD
    for name, limits in PARAMETER_LIMITS.items():
        minuit.limits[name] = limits
    for name in fixed:
        minuit.fixed[name] = True
    minuit.strategy = 1
    minuit.migrad()
    mu_hat = float(minuit.values["mu"])
    try:
        minuit.minos("mu", cl=0.6827)
        lower, upper = minuit.merrors["mu"].lower, minuit.merrors["mu"].upper
        if not (minuit.merrors["mu"].is_valid and np.isfinite(lower) and np.isfinite(upper)):
            raise RuntimeError("MINOS invalid")
    except RuntimeError:
        # MINOS can fail on a pathological pseudo-experiment; fall back to the HESSE error.
        minuit.hesse()
        lower, upper = -float(minuit.errors["mu"]), float(minuit.errors["mu"])
    return {
        "mu_hat": mu_hat,
        "delta_mu_hat": 0.5 * (upper - lower),
        "p16": mu_hat + lower,
        "p84": mu_hat + upper,
    }


def asimov_widths(fit: BinnedTemplateFit, mu: float = 1.0) -> dict[str, float]:
    """Width p84 - p16 of the interval on mu for the fit's own expected histogram (its Asimov
    data set at ``mu``, nominal nuisances), once per line of ``PROFILED_GROUPS``: only that
    group's nuisances profiled, the others fixed at nominal.

    ``none`` is the width from the data's statistics and the templates' simulation errors alone;
    the step from ``none`` to a group is what that nuisance costs. Needs a fitted ``fit``.
    """
    if not hasattr(fit, "nominal_"):
        raise RuntimeError(f"{type(fit).__name__} used before fit")
    asimov = fit.expected((mu, *NOMINAL_PARAMETERS[1:]))
    widths = {}
    for group, profiled in PROFILED_GROUPS.items():
        fixed = [name for name in PARAMETERS[1:] if name not in profiled]
        answer = profile_interval(lambda p: fit.negative_log_likelihood(p, asimov), fixed=fixed)
        widths[group] = answer["p84"] - answer["p16"]
    return widths
