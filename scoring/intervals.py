"""Interval metrics of the HiggsML Uncertainty challenge (SPEC 1; the anchor's code is authoritative).

Inputs are per-pseudo-experiment arrays of shape (N,): the true signal strength ``mu_true``,
the estimate ``mu_hat``, its uncertainty ``delta_mu_hat`` and the 68.27% interval
``[p16, p84]``. A reversed interval (p16 > p84) counts in the width and is never covered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CONFIDENCE_LEVEL = 0.6827
COVERAGE_EPSILON = 1e-3
"""Width offset in the coverage score (the anchor's code; the white paper's 1e-2 is not used)."""


def _as_arrays(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Check the inputs are finite 1-D arrays of one common, non-zero length."""
    out = {name: np.asarray(value, dtype=np.float64) for name, value in arrays.items()}
    lengths = {name: a.shape for name, a in out.items()}
    first = next(iter(out.values()))
    if first.ndim != 1 or first.size == 0:
        raise ValueError(f"expected non-empty 1-D arrays, got shapes {lengths}")
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arrays differ in shape: {lengths}")
    for name, a in out.items():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        if bad:
            raise ValueError(f"{name} contains {bad} non-finite (NaN or inf) value(s)")
    return out


def sigma68(n: int) -> float:
    """Binomial standard deviation of the coverage of ``n`` intervals at 68.27%."""
    return float(np.sqrt(CONFIDENCE_LEVEL * (1.0 - CONFIDENCE_LEVEL) / n))


def interval_width(p16: np.ndarray, p84: np.ndarray) -> float:
    """Mean |p84 - p16|."""
    a = _as_arrays(p16=p16, p84=p84)
    return float(np.mean(np.abs(a["p84"] - a["p16"])))


def coverage(mu_true: np.ndarray, p16: np.ndarray, p84: np.ndarray) -> float:
    """Fraction of pseudo-experiments with p16 <= mu_true <= p84 (reversed: never covered)."""
    a = _as_arrays(mu_true=mu_true, p16=p16, p84=p84)
    return float(np.mean((a["p16"] <= a["mu_true"]) & (a["mu_true"] <= a["p84"])))


def coverage_penalty(c: float, n: int) -> float:
    """f(c): 1 inside 0.6827 +- 2 sigma68; quartic below, cubic above (in units of sigma68)."""
    s = sigma68(n)
    low, high = CONFIDENCE_LEVEL - 2.0 * s, CONFIDENCE_LEVEL + 2.0 * s
    if c < low:
        return 1.0 + abs((c - low) / s) ** 4
    if c > high:
        return 1.0 + abs((c - high) / s) ** 3
    return 1.0


def coverage_score(mu_true: np.ndarray, p16: np.ndarray, p84: np.ndarray) -> float:
    """-ln((w + eps) f(c)); higher is better."""
    a = _as_arrays(mu_true=mu_true, p16=p16, p84=p84)
    w = float(np.mean(np.abs(a["p84"] - a["p16"])))
    c = float(np.mean((a["p16"] <= a["mu_true"]) & (a["mu_true"] <= a["p84"])))
    return float(-np.log((w + COVERAGE_EPSILON) * coverage_penalty(c, a["mu_true"].size)))


def rmse(mu_true: np.ndarray, mu_hat: np.ndarray, delta_mu_hat: np.ndarray) -> float:
    """sqrt(mean((mu_hat - mu)^2) + mean(((mu_hat - mu)^2 - dmu^2)^2))."""
    a = _as_arrays(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat)
    sq = (a["mu_hat"] - a["mu_true"]) ** 2
    return float(np.sqrt(np.mean(sq) + np.mean((sq - a["delta_mu_hat"] ** 2) ** 2)))


def mae(mu_true: np.ndarray, mu_hat: np.ndarray, delta_mu_hat: np.ndarray) -> float:
    """mean|mu_hat - mu| + mean| |mu_hat - mu| - dmu |."""
    a = _as_arrays(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat)
    err = np.abs(a["mu_hat"] - a["mu_true"])
    return float(np.mean(err) + np.mean(np.abs(err - a["delta_mu_hat"])))


@dataclass(frozen=True)
class IntervalMetrics:
    coverage_score: float
    width: float
    coverage: float
    rmse: float
    mae: float
    n_pseudo_experiments: int
    sigma68: float
    coverage_penalty: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def interval_metrics(
    mu_true: np.ndarray, mu_hat: np.ndarray, delta_mu_hat: np.ndarray, p16: np.ndarray, p84: np.ndarray
) -> dict[str, float]:
    """Every interval metric at once, as a dict (see ``IntervalMetrics`` for the keys)."""
    a = _as_arrays(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat, p16=p16, p84=p84)
    n = a["mu_true"].size
    c = coverage(a["mu_true"], a["p16"], a["p84"])
    return IntervalMetrics(
        coverage_score=coverage_score(a["mu_true"], a["p16"], a["p84"]),
        width=interval_width(a["p16"], a["p84"]),
        coverage=c,
        rmse=rmse(a["mu_true"], a["mu_hat"], a["delta_mu_hat"]),
        mae=mae(a["mu_true"], a["mu_hat"], a["delta_mu_hat"]),
        n_pseudo_experiments=n,
        sigma68=sigma68(n),
        coverage_penalty=coverage_penalty(c, n),
    ).as_dict()


def bootstrap_over_sets(
    mu_true: np.ndarray,
    mu_hat: np.ndarray,
    delta_mu_hat: np.ndarray,
    p16: np.ndarray,
    p84: np.ndarray,
    set_index: np.ndarray,
    n_replicas: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Resample whole sets with replacement and recompute score, width and coverage.

    Returns, for ``coverage_score``, ``width`` and ``coverage``: the mean, standard deviation
    and 16 / 50 / 84% quantiles over the replicas.
    """
    a = _as_arrays(mu_true=mu_true, mu_hat=mu_hat, delta_mu_hat=delta_mu_hat, p16=p16, p84=p84)
    sets = np.asarray(set_index)
    if sets.shape != a["mu_true"].shape:
        raise ValueError(f"set_index has shape {sets.shape}, expected {a['mu_true'].shape}")
    if n_replicas < 1:
        raise ValueError("n_replicas must be at least 1")
    labels, members = np.unique(sets, return_inverse=True)
    groups = [np.flatnonzero(members == k) for k in range(labels.size)]
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {"coverage_score": [], "width": [], "coverage": []}
    for _ in range(n_replicas):
        rows = np.concatenate([groups[k] for k in rng.integers(0, labels.size, size=labels.size)])
        mu, lo, hi = a["mu_true"][rows], a["p16"][rows], a["p84"][rows]
        values["coverage_score"].append(coverage_score(mu, lo, hi))
        values["width"].append(interval_width(lo, hi))
        values["coverage"].append(coverage(mu, lo, hi))
    summary = {}
    for key, v in values.items():
        arr = np.asarray(v)
        q16, q50, q84 = np.quantile(arr, [0.16, 0.5, 0.84])
        summary[key] = {"mean": float(arr.mean()), "std": float(arr.std()), "q16": float(q16),
                        "q50": float(q50), "q84": float(q84)}
    return summary
