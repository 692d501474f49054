"""Interval metrics of the HiggsML Uncertainty challenge.

Every function takes per-pseudo-experiment arrays of shape ``(N,)``, one entry per
pseudo-experiment, all in units of the signal strength mu (dimensionless):

- ``mu_true``: the true signal strength the pseudo-experiment was generated with;
- ``mu_hat``: the submission's point estimate;
- ``delta_mu_hat``: its stated uncertainty;
- ``p16``, ``p84``: the lower and upper ends of its 68.27% interval.

The definitions follow the FAIR Universe scoring program (``scoring_program/score.py`` of
FAIR-Universe/HEP-Challenge), which is authoritative where the white paper differs: the width
offset is 1e-3, not 1e-2. A reversed interval (``p16 > p84``) contributes ``|p84 - p16|`` to
the width and never covers ``mu_true``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

CONFIDENCE_LEVEL = 0.6827
"""Target coverage of the [p16, p84] interval (one Gaussian sigma)."""

COVERAGE_EPSILON = 1e-3
"""Offset added to the width in the coverage score (the scoring program's value)."""

QUANTILES = (0.16, 0.50, 0.84)
"""Quantiles of the bootstrap replicas reported by :func:`bootstrap_over_sets`."""

FloatArray = NDArray[np.float64]


def _checked(**arrays: ArrayLike) -> dict[str, FloatArray]:
    """Return the inputs as float64 arrays after checking they are finite, 1-D, non-empty and
    of one shape; the ValueError names the first offending field."""
    out: dict[str, FloatArray] = {}
    for name, value in arrays.items():
        a = np.asarray(value, dtype=np.float64)
        if a.ndim != 1:
            raise ValueError(f"{name} has shape {a.shape}; expected a non-empty 1-D array")
        if a.size == 0:
            raise ValueError(f"{name} is empty; expected a non-empty 1-D array")
        out[name] = a
    first, shape = next(iter(out)), next(iter(out.values())).shape
    for name, a in out.items():
        if a.shape != shape:
            raise ValueError(f"arrays differ in shape: {name} has {a.shape}, {first} has {shape}")
    for name, a in out.items():
        n_nan = int(np.count_nonzero(np.isnan(a)))
        n_inf = int(np.count_nonzero(np.isinf(a)))
        if n_nan or n_inf:
            kinds = ", ".join(f"{k} {label}" for k, label in ((n_nan, "NaN"), (n_inf, "inf")) if k)
            plural = "" if n_nan + n_inf == 1 else "s"
            raise ValueError(f"{name} contains {n_nan + n_inf} non-finite value{plural} ({kinds})")
    return out


def _sigma68(n: ArrayLike) -> FloatArray:
    # Written as in the scoring program, sqrt(cl (1 - cl) n) / n, so the band edges agree to
    # the last bit with the reference implementation.
    n = np.asarray(n, dtype=np.float64)
    return np.sqrt((1.0 - CONFIDENCE_LEVEL) * CONFIDENCE_LEVEL * n) / n


def _penalty(c: ArrayLike, n: ArrayLike) -> FloatArray:
    """Vectorised f(c) for coverages ``c`` of ``n`` pseudo-experiments (broadcast together)."""
    c = np.asarray(c, dtype=np.float64)
    s = _sigma68(n)
    low, high = CONFIDENCE_LEVEL - 2.0 * s, CONFIDENCE_LEVEL + 2.0 * s
    # Under-coverage is penalised more steeply (quartic) than over-coverage (cubic), as in the
    # scoring program; np.where keeps this usable on arrays of bootstrap replicas.
    return np.where(
        c < low, 1.0 + np.abs((c - low) / s) ** 4, np.where(c > high, 1.0 + np.abs((c - high) / s) ** 3, 1.0)
    )


def _score(width: ArrayLike, c: ArrayLike, n: ArrayLike) -> FloatArray:
    return -np.log((np.asarray(width, dtype=np.float64) + COVERAGE_EPSILON) * _penalty(c, n))


def _covered(mu_true: FloatArray, p16: FloatArray, p84: FloatArray) -> NDArray[np.bool_]:
    # Both comparisons are needed: a reversed interval then covers nothing.
    return (p16 <= mu_true) & (mu_true <= p84)


def sigma68(n: int) -> float:
    """Binomial standard deviation of the coverage of ``n`` independent 68.27% intervals.

    ``sqrt(0.6827 (1 - 0.6827) / n)``; ``n`` is the number of pseudo-experiments (>= 1).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return float(_sigma68(int(n)))


def coverage_penalty(c: float, n: int) -> float:
    """The coverage penalty f(c) for a coverage ``c`` measured on ``n`` pseudo-experiments.

    With ``s = sigma68(n)``, ``lo = 0.6827 - 2 s`` and ``hi = 0.6827 + 2 s``::

        f(c) = 1                          lo <= c <= hi
        f(c) = 1 + |(c - lo) / s|^4       c < lo
        f(c) = 1 + |(c - hi) / s|^3       c > hi

    ``c`` is a fraction in [0, 1]; the result is dimensionless and >= 1.
    """
    if not (np.isfinite(c) and 0.0 <= c <= 1.0):
        raise ValueError(f"coverage c must be a fraction in [0, 1], got {c!r}")
    sigma68(n)  # validates n
    return float(_penalty(c, n))


def interval_width(p16: ArrayLike, p84: ArrayLike) -> float:
    """Mean interval width ``mean(|p84 - p16|)`` over the ``(N,)`` inputs, in units of mu."""
    a = _checked(p16=p16, p84=p84)
    return float(np.mean(np.abs(a["p84"] - a["p16"])))


def coverage(mu_true: ArrayLike, p16: ArrayLike, p84: ArrayLike) -> float:
    """Fraction of the ``(N,)`` pseudo-experiments with ``p16 <= mu_true <= p84``."""
    a = _checked(mu_true=mu_true, p16=p16, p84=p84)
    return float(np.mean(_covered(a["mu_true"], a["p16"], a["p84"])))


def coverage_score(mu_true: ArrayLike, p16: ArrayLike, p84: ArrayLike) -> float:
    """The challenge's ranking score ``-ln((w + 1e-3) f(c))``; higher is better.

    ``w`` is :func:`interval_width`, ``c`` is :func:`coverage` and ``f`` is
    :func:`coverage_penalty`, all over the same ``(N,)`` pseudo-experiments.
    """
    a = _checked(mu_true=mu_true, p16=p16, p84=p84)
    w = np.mean(np.abs(a["p84"] - a["p16"]))
    c = np.mean(_covered(a["mu_true"], a["p16"], a["p84"]))
    return float(_score(w, c, a["mu_true"].size))


def rmse(mu_true: ArrayLike, mu_hat: ArrayLike, delta_mu_hat: ArrayLike) -> float:
    """``sqrt(mean((mu_hat - mu)^2) + mean(((mu_hat - mu)^2 - delta_mu_hat^2)^2))``.

    The second term rewards a ``delta_mu_hat`` that matches the actual error. Inputs are
    ``(N,)``; the result is in units of mu (mixing mu and mu^2 terms, as the challenge does).
    This is the SPEC formula. The FAIR Universe scoring program instead averages the value of
    each pseudo-experiment alone (the mean of square roots, which is smaller);
    ``benchmarks/bench_anchor_higgs_scoring.py`` shows both.
    """
    a = _checked(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat)
    sq = (a["mu_hat"] - a["mu_true"]) ** 2
    return float(np.sqrt(np.mean(sq) + np.mean((sq - a["delta_mu_hat"] ** 2) ** 2)))


def mae(mu_true: ArrayLike, mu_hat: ArrayLike, delta_mu_hat: ArrayLike) -> float:
    """``mean(|mu_hat - mu|) + mean(||mu_hat - mu| - delta_mu_hat|)`` over ``(N,)`` inputs."""
    a = _checked(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat)
    err = np.abs(a["mu_hat"] - a["mu_true"])
    return float(np.mean(err) + np.mean(np.abs(err - a["delta_mu_hat"])))


@dataclass(frozen=True)
class IntervalMetrics:
    """All interval metrics of one submission over N pseudo-experiments."""

    coverage_score: float
    width: float
    coverage: float
    rmse: float
    mae: float
    n_pseudo_experiments: int
    sigma68: float
    coverage_penalty: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def interval_metrics(
    mu_true: ArrayLike, mu_hat: ArrayLike, delta_mu_hat: ArrayLike, p16: ArrayLike, p84: ArrayLike
) -> dict[str, float | int]:
    """Every metric of :class:`IntervalMetrics` at once, as a plain (mutable) dict.

    Inputs are ``(N,)`` arrays; mismatched shapes, empty input or NaN/inf values raise a
    ValueError naming the field. Keys: coverage_score, width, coverage, rmse, mae,
    n_pseudo_experiments, sigma68 and coverage_penalty (f(c)).
    """
    a = _checked(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat, p16=p16, p84=p84)
    n = a["mu_true"].size
    w = float(np.mean(np.abs(a["p84"] - a["p16"])))
    c = float(np.mean(_covered(a["mu_true"], a["p16"], a["p84"])))
    return IntervalMetrics(
        coverage_score=float(_score(w, c, n)),
        width=w,
        coverage=c,
        rmse=rmse(a["mu_true"], a["mu_hat"], a["delta_mu_hat"]),
        mae=mae(a["mu_true"], a["mu_hat"], a["delta_mu_hat"]),
        n_pseudo_experiments=n,
        sigma68=sigma68(n),
        coverage_penalty=float(_penalty(c, n)),
    ).as_dict()


def _set_members(set_index: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.intp]:
    """The set of each pseudo-experiment as 0..n_sets-1, shape ``shape``, from any labels
    (ints or strings); a ValueError for a shape mismatch or non-finite float labels."""
    sets = np.asarray(set_index)
    if sets.shape != shape:
        raise ValueError(f"set_index has shape {sets.shape}, expected {shape}")
    if sets.dtype.kind == "f" and not np.all(np.isfinite(sets)):
        raise ValueError(f"set_index contains {np.count_nonzero(~np.isfinite(sets))} non-finite value(s)")
    _, member = np.unique(sets, return_inverse=True)
    return member.ravel()


def _summary(replicas: FloatArray) -> dict[str, float]:
    q16, q50, q84 = np.quantile(replicas, QUANTILES)
    return {
        "mean": float(replicas.mean()),
        "std": float(replicas.std()),
        "q16": float(q16),
        "q50": float(q50),
        "q84": float(q84),
    }


def bootstrap_over_sets(
    mu_true: ArrayLike,
    mu_hat: ArrayLike,
    delta_mu_hat: ArrayLike,
    p16: ArrayLike,
    p84: ArrayLike,
    set_index: ArrayLike,
    n_replicas: int = 1000,
    seed: int | np.random.Generator | None = 0,
) -> dict[str, dict[str, float]]:
    """Bootstrap the coverage score, width and coverage by resampling whole sets.

    A set is the group of pseudo-experiments sharing one ``set_index`` value (one true mu).
    Each replica draws as many sets as there are, with replacement, concatenates their
    pseudo-experiments and recomputes the three metrics on them, so a set's weight is its
    size and N in sigma68 is the replica's total. ``mu_hat`` and ``delta_mu_hat`` do not
    enter; they are taken (and checked) so one dict of answers feeds every function here.

    Parameters
    ----------
    mu_true, mu_hat, delta_mu_hat, p16, p84, set_index
        ``(N,)`` arrays; ``set_index`` holds any labels (ints or strings).
    n_replicas
        Number of bootstrap replicas (>= 1).
    seed
        Seed of, or an existing, ``numpy.random.Generator``.

    Returns
    -------
    ``{"coverage_score": s, "width": s, "coverage": s}``, each ``s`` a dict with the mean and
    standard deviation (ddof=0) of the replicas and their 16/50/84% quantiles
    (``mean``, ``std``, ``q16``, ``q50``, ``q84``).
    """
    a = _checked(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat, p16=p16, p84=p84)
    member = _set_members(set_index, a["mu_true"].shape)
    if int(n_replicas) != n_replicas or n_replicas < 1:
        raise ValueError(f"n_replicas must be a positive integer, got {n_replicas!r}")

    # Reduce each set to three sums once; a replica's metrics are then sums over its drawn
    # sets, which equals recomputing on the concatenated pseudo-experiments without copying.
    n_sets = int(member.max()) + 1
    size = np.bincount(member, minlength=n_sets).astype(np.float64)
    width_sum = np.bincount(member, weights=np.abs(a["p84"] - a["p16"]), minlength=n_sets)
    covered_sum = np.bincount(
        member, weights=_covered(a["mu_true"], a["p16"], a["p84"]).astype(np.float64), minlength=n_sets
    )

    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_sets, size=(int(n_replicas), n_sets))
    n = size[drawn].sum(axis=1)
    width = width_sum[drawn].sum(axis=1) / n
    cov = covered_sum[drawn].sum(axis=1) / n
    score = _score(width, cov, n)
    return {"coverage_score": _summary(score), "width": _summary(width), "coverage": _summary(cov)}


def interval_calibration(
    mu_true: ArrayLike, mu_hat: ArrayLike, p16: ArrayLike, p84: ArrayLike, set_index: ArrayLike | None = None
) -> dict[str, float | int]:
    """Why a coverage is what it is: a shared offset of ``mu_hat``, intervals too wide or too
    narrow for the scatter of ``mu_hat``, or neither.

    Inputs are ``(N,)`` arrays in units of mu (N >= 2); ``set_index`` optionally labels each
    pseudo-experiment's set. With ``r = mu_hat - mu_true``, the returned keys are:

    - ``offset``, ``offset_error``: the mean of ``r`` and its standard error ``sd(r) / sqrt(N)``;
    - ``scatter``: ``sd(r)`` (ddof=1);
    - ``half_width_over_scatter``: ``mean(|p84 - p16|) / 2 / scatter``, 1 for Gaussian errors
      covered as they should be;
    - ``pull_std``, ``n_pull``: the standard deviation of the pulls ``r / h``, ``h`` the
      interval's half on the side of ``mu_true`` (``p84 - mu_hat`` when ``mu_true > mu_hat``,
      else ``mu_hat - p16``), 1 for calibrated intervals; pseudo-experiments with ``h <= 0`` are
      left out, ``n_pull`` are kept;
    - ``coverage_offset_removed``: the coverage of ``[p16 - offset, p84 - offset]``, what the
      intervals would cover without the shared offset;
    - ``response_slope``, ``response_intercept``: the least-squares line
      ``mu_hat = slope * mu_true + intercept`` (NaN when ``mu_true`` takes one value);
    - ``set_coverage_min``, ``set_coverage_max``: the lowest and highest coverage of one set
      (only with ``set_index``).
    """
    a = _checked(mu_true=mu_true, mu_hat=mu_hat, p16=p16, p84=p84)
    t, m, lo, hi = a["mu_true"], a["mu_hat"], a["p16"], a["p84"]
    if t.size < 2:
        raise ValueError(f"mu_true has {t.size} entry; calibration needs at least 2 pseudo-experiments")
    r = m - t
    offset, scatter = float(r.mean()), float(r.std(ddof=1))
    half = np.where(t > m, hi - m, m - lo)
    defined = half > 0
    pulls = r[defined] / half[defined]
    slope, intercept = (float("nan"), float("nan")) if np.ptp(t) == 0 else (float(v) for v in np.polyfit(t, m, 1))
    out: dict[str, float | int] = {
        "offset": offset,
        "offset_error": scatter / float(np.sqrt(t.size)),
        "scatter": scatter,
        "half_width_over_scatter": float(np.mean(np.abs(hi - lo))) / 2.0 / scatter if scatter > 0 else float("nan"),
        "pull_std": float(pulls.std(ddof=1)) if pulls.size > 1 else float("nan"),
        "n_pull": int(pulls.size),
        "coverage_offset_removed": float(np.mean(_covered(t, lo - offset, hi - offset))),
        "response_slope": slope,
        "response_intercept": intercept,
    }
    if set_index is not None:
        member = _set_members(set_index, t.shape)
        per_set = np.bincount(member, weights=_covered(t, lo, hi).astype(np.float64)) / np.bincount(member)
        out["set_coverage_min"], out["set_coverage_max"] = float(per_set.min()), float(per_set.max())
    return out
