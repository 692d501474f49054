"""Which features matter: seven rankings of the HiggsML features, and ROC AUC against the number
of features kept for each ranking.

Methods (performance is the weighted ROC AUC of a BDT on a held-out nominal set):
- ``iterative-addition``: greedy forward selection, adding the feature that raises the AUC most
- ``iterative-removal``: greedy backward elimination, removing the feature whose loss hurts least
- ``score-correlation``: |Spearman correlation| of each feature with the full BDT's score
- ``bdt-selection-frequency``: how often the full BDT splits on each feature
- ``separation``: overlap of the signal and background shapes, S = 1/2 sum (s - b)^2 / (s + b)
  over normalised histograms (no training)
- ``random-subsets``: mean AUC of random subsets containing the feature minus those without it
- ``permutation``: AUC lost when the feature is shuffled in the test set (full BDT)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.stats import spearmanr

from ...challenges.higgs_uncertainty.schema import FEATURES
from ...challenges.higgs_uncertainty.systematics import systematics
from ...scoring.anomaly import roc_auc
from ..base import balanced_weights

METHODS: tuple[str, ...] = (
    "iterative-addition",
    "iterative-removal",
    "score-correlation",
    "bdt-selection-frequency",
    "separation",
    "random-subsets",
    "permutation",
)


@dataclass(frozen=True)
class FeatureRankingConfig:
    """Sizes of the study: events used, BDT size, random-subset trials, AUC-curve points."""

    n_train: int = 200_000
    n_test: int = 200_000
    n_estimators: int = 100
    max_depth: int = 4
    n_random_trials: int = 200
    n_bins: int = 50
    n_jobs: int | None = None


FEATURE_RANKING_SIZES: dict[str, FeatureRankingConfig] = {
    "tiny": FeatureRankingConfig(n_train=8_000, n_test=8_000, n_estimators=15, max_depth=3, n_random_trials=20),
    "small": FeatureRankingConfig(n_train=60_000, n_test=60_000, n_estimators=40, max_depth=4, n_random_trials=80),
    "full": FeatureRankingConfig(),
}


class _Evaluator:
    """Trains a BDT on a feature subset and returns its weighted AUC on the test events."""

    def __init__(self, train: pd.DataFrame, test: pd.DataFrame, config: FeatureRankingConfig, seed: int) -> None:
        self.train, self.test, self.config, self.seed = train, test, config, seed
        self.y_train = train["labels"].to_numpy()
        self.w_train = balanced_weights(self.y_train, train["weights"].to_numpy())
        self.y_test = test["labels"].to_numpy()
        self.w_test = test["weights"].to_numpy()
        self.n_fits = 0

    def model(self, features: Sequence[str]) -> xgb.XGBClassifier:
        self.n_fits += 1
        model = xgb.XGBClassifier(
            n_estimators=self.config.n_estimators,
            max_depth=self.config.max_depth,
            tree_method="hist",
            n_jobs=self.config.n_jobs,
            random_state=self.seed,
        )
        return model.fit(self.train[list(features)].to_numpy(np.float32), self.y_train, sample_weight=self.w_train)

    def score(self, model: xgb.XGBClassifier, features: Sequence[str], test: pd.DataFrame | None = None) -> np.ndarray:
        frame = self.test if test is None else test
        return model.predict_proba(frame[list(features)].to_numpy(np.float32))[:, 1]

    def auc(self, features: Sequence[str]) -> float:
        return roc_auc(self.y_test, self.score(self.model(features), features), self.w_test)


def _greedy(evaluator: _Evaluator, features: list[str], forward: bool) -> tuple[list[str], list[float]]:
    """Greedy selection; returns features from most to least important and the AUC path."""
    chosen: list[str] = [] if forward else list(features)
    order: list[str] = []
    path: list[float] = []
    remaining = list(features) if forward else []
    while remaining if forward else len(chosen) > 1:
        candidates = remaining if forward else chosen
        trial = {f: evaluator.auc(chosen + [f] if forward else [c for c in chosen if c != f]) for f in candidates}
        best = max(trial, key=trial.get)
        path.append(trial[best])
        if forward:
            chosen.append(best)
            remaining.remove(best)
            order.append(best)
        else:
            chosen.remove(best)
            order.insert(0, best)  # removed first = least important
    if not forward:
        order = chosen + order
    return order, path


def separation(
    signal: np.ndarray, background: np.ndarray, w_signal: np.ndarray, w_background: np.ndarray, n_bins: int = 50
) -> float:
    """Separation S = 1/2 sum_i (s_i - b_i)^2 / (s_i + b_i) of normalised weighted histograms,
    on bins spanning the 0.5-99.5% quantiles of both samples (0 identical, 1 disjoint)."""
    both = np.concatenate([signal, background])
    lo, hi = np.quantile(both, [0.005, 0.995])
    if hi <= lo:
        return 0.0
    edges = np.linspace(lo, hi, n_bins + 1)
    s = np.histogram(np.clip(signal, lo, hi), edges, weights=w_signal)[0]
    b = np.histogram(np.clip(background, lo, hi), edges, weights=w_background)[0]
    s, b = s / s.sum(), b / b.sum()
    total = s + b
    return float(0.5 * np.sum(np.where(total > 0, (s - b) ** 2 / np.where(total > 0, total, 1.0), 0.0)))


def _sample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Up to ``n`` events, half signal and half background when possible; weights rescaled to
    keep each class's total."""
    parts = []
    for label in (0, 1):
        cls = frame[frame["labels"].to_numpy() == label]
        take = cls.iloc[np.sort(rng.choice(len(cls), size=min(len(cls), n // 2), replace=False))].copy()
        take["weights"] *= cls["weights"].sum() / take["weights"].sum()
        parts.append(take)
    return pd.concat(parts)


def rank_features(
    train: pd.DataFrame,
    test: pd.DataFrame,
    config: FeatureRankingConfig,
    *,
    features: Sequence[str] = FEATURES,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rank ``features`` by every method and measure AUC against the number of features kept.

    ``train`` and ``test`` are weighted event sets (nominal selection applied here). Returns a
    JSON-ready record: for each method the ordered features, the per-feature values where the
    method has them, and ``auc_curve`` [[k, auc], ...] for k = 1 .. n_features.
    """
    rng = np.random.default_rng(seed)
    features = list(features)
    train_set = _sample(systematics(train), config.n_train, rng)
    test_set = _sample(systematics(test), config.n_test, rng)
    evaluator = _Evaluator(train_set, test_set, config, seed)
    note = progress or (lambda message: None)
    values: dict[str, dict[str, float]] = {}
    orders: dict[str, list[str]] = {}

    note("iterative addition")
    orders["iterative-addition"], path = _greedy(evaluator, features, forward=True)
    values["iterative-addition"] = dict(zip(orders["iterative-addition"], path))
    note("iterative removal")
    orders["iterative-removal"], _ = _greedy(evaluator, features, forward=False)

    note("full BDT")
    full = evaluator.model(features)
    full_score = evaluator.score(full, features)
    full_auc = roc_auc(evaluator.y_test, full_score, evaluator.w_test)
    values["score-correlation"] = {
        f: float(abs(spearmanr(test_set[f].to_numpy(), full_score).statistic)) for f in features
    }
    splits = full.get_booster().get_score(importance_type="weight")
    values["bdt-selection-frequency"] = {f: float(splits.get(f"f{i}", 0.0)) for i, f in enumerate(features)}
    is_sig = test_set["labels"].to_numpy() == 1
    w = test_set["weights"].to_numpy()
    values["separation"] = {
        f: separation(
            test_set[f].to_numpy()[is_sig], test_set[f].to_numpy()[~is_sig], w[is_sig], w[~is_sig], config.n_bins
        )
        for f in features
    }

    note("random subsets")
    size = max(1, len(features) // 2)
    member = np.zeros((config.n_random_trials, len(features)), dtype=bool)
    aucs = np.empty(config.n_random_trials)
    for t in range(config.n_random_trials):
        member[t, rng.choice(len(features), size=size, replace=False)] = True
        aucs[t] = evaluator.auc([f for f, m in zip(features, member[t]) if m])
    values["random-subsets"] = {}
    for i, f in enumerate(features):
        with_f, without_f = aucs[member[:, i]], aucs[~member[:, i]]
        # a feature never (or always) drawn has no contrast to measure
        values["random-subsets"][f] = float(with_f.mean() - without_f.mean()) if len(with_f) and len(without_f) else 0.0

    note("permutation")
    values["permutation"] = {}
    for f in features:
        shuffled = test_set.copy()
        shuffled[f] = rng.permutation(shuffled[f].to_numpy())
        values["permutation"][f] = full_auc - roc_auc(
            evaluator.y_test, evaluator.score(full, features, shuffled), evaluator.w_test
        )

    for method in METHODS:
        if method not in orders:
            orders[method] = sorted(features, key=lambda f: -values[method][f])

    note("AUC against the number of features")
    curves = {}
    for method in METHODS:
        curves[method] = [[k, evaluator.auc(orders[method][:k])] for k in range(1, len(features) + 1)]

    return {
        "config": asdict(config),
        "seed": seed,
        "n_train_events": len(train_set),
        "n_test_events": len(test_set),
        "full_auc": full_auc,
        "n_bdt_fits": evaluator.n_fits,
        "methods": {m: {"order": orders[m], "values": values.get(m, {}), "auc_curve": curves[m]} for m in METHODS},
    }


def plot_auc_curves(result: dict[str, Any], path: str | Path) -> Path:
    """PNG of AUC against the number of features kept, one line per ranking method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    for method, record in result["methods"].items():
        k, auc = np.array(record["auc_curve"]).T
        ax.plot(k, auc, marker="o", markersize=3, label=method)
    ax.axhline(result["full_auc"], color="black", linestyle=":", label="all features")
    ax.set_xlabel("number of features kept")
    ax.set_ylabel("ROC AUC (BDT, nominal test set)")
    ax.legend(fontsize=10, loc="lower right")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def markdown_rankings(result: dict[str, Any], top: int = 10) -> str:
    """Markdown table: rank -> feature for each method, and the AUC with the top k features."""
    methods = list(result["methods"])
    lines = ["| rank | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for r in range(min(top, len(result["methods"][methods[0]]["order"]))):
        lines.append(f"| {r + 1} | " + " | ".join(result["methods"][m]["order"][r] for m in methods) + " |")
    for k in (1, 3, 5, 10):
        if k <= len(result["methods"][methods[0]]["auc_curve"]):
            lines.append(
                f"| AUC, top {k} | "
                + " | ".join(f"{result['methods'][m]['auc_curve'][k - 1][1]:.3f}" for m in methods)
                + " |"
            )
    return "\n".join(lines) + "\n"
