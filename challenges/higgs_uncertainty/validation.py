"""How close generated events are to real simulation, feature by feature.

For signal and background separately, each shared feature gets the 1-D Wasserstein distance
divided by the real sample's standard deviation (0 = identical, ~1 = shifted by one standard
deviation), the Kolmogorov-Smirnov statistic, both means, and the fraction of undefined values.
All statistics use the event weights. Overlaid normalised histograms are saved as PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from .real_data import HIGGSML2014_TO_FAIR, load_fair_universe, load_higgsml2014
from .schema import UNDEFINED

CLASSES: dict[str, int] = {"signal": 1, "background": 0}


def _weighted_ks(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray) -> float:
    """Largest distance between the two weighted empirical CDFs (scipy's ks_2samp has no weights)."""
    grid = np.sort(np.concatenate([a, b]))
    cdf = lambda x, w: (  # noqa: E731
        np.concatenate([[0.0], np.cumsum(w[np.argsort(x)])])[np.searchsorted(np.sort(x), grid, "right")] / w.sum()
    )  # noqa: E731
    return float(np.max(np.abs(cdf(a, wa) - cdf(b, wb))))


def _weighted_std(x: np.ndarray, w: np.ndarray) -> float:
    mean = np.average(x, weights=w)
    return float(np.sqrt(np.average((x - mean) ** 2, weights=w)))


def markdown_table(table: pd.DataFrame) -> str:
    """A plain markdown table, floats to 3 decimals."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells]) + "\n"


def compare_to_real(
    generated: pd.DataFrame,
    real: pd.DataFrame,
    features: list[str] | None = None,
    out_dir: str | Path | None = None,
    reference_name: str = "real",
) -> pd.DataFrame:
    """Per-feature distances between ``generated`` and ``real`` for signal and background.

    Both frames need the features, ``weights`` and ``labels``. Returns one row per (feature,
    class): ``feature``, ``class``, ``n_real``, ``n_gen``, ``w1_std``, ``ks``, ``mean_real``,
    ``mean_gen``, ``undefined_frac_real``, ``undefined_frac_gen``. With ``out_dir``, writes
    ``distances.csv``, ``distances.md`` and ``histograms_{class}.png``.
    """
    features = features or [f for f in HIGGSML2014_TO_FAIR.values() if f in generated and f in real]
    rows = []
    for cls, label in CLASSES.items():
        g = generated.loc[generated["labels"] == label]
        r = real.loc[real["labels"] == label]
        for feature in features:
            gx, gw = g[feature].to_numpy(np.float64), g["weights"].to_numpy(np.float64)
            rx, rw = r[feature].to_numpy(np.float64), r["weights"].to_numpy(np.float64)
            g_def, r_def = gx != UNDEFINED, rx != UNDEFINED
            row = {
                "feature": feature,
                "class": cls,
                "n_real": int(r_def.sum()),
                "n_gen": int(g_def.sum()),
                "undefined_frac_real": float(rw[~r_def].sum() / rw.sum()),
                "undefined_frac_gen": float(gw[~g_def].sum() / gw.sum()),
            }
            if r_def.sum() > 1 and g_def.sum() > 1:
                std = _weighted_std(rx[r_def], rw[r_def])
                row.update(
                    w1_std=float(wasserstein_distance(rx[r_def], gx[g_def], rw[r_def], gw[g_def]) / std)
                    if std > 0
                    else np.nan,
                    ks=_weighted_ks(rx[r_def], rw[r_def], gx[g_def], gw[g_def]),
                    mean_real=float(np.average(rx[r_def], weights=rw[r_def])),
                    mean_gen=float(np.average(gx[g_def], weights=gw[g_def])),
                )
            else:
                row.update(w1_std=np.nan, ks=np.nan, mean_real=np.nan, mean_gen=np.nan)
            rows.append(row)
    table = pd.DataFrame(rows)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "distances.csv", index=False, float_format="%.4f")
        (out / "distances.md").write_text(markdown_table(table))
        for cls, label in CLASSES.items():
            _plot(
                generated.loc[generated["labels"] == label],
                real.loc[real["labels"] == label],
                features,
                out / f"histograms_{cls}.png",
                f"{cls}: generated vs {reference_name}",
                reference_name,
            )
    return table


def two_sample_table(
    generated: pd.DataFrame, real: pd.DataFrame, features: list[str] | None = None, *, folds: int = 5
) -> pd.DataFrame:
    """Per process (``detailed_labels``), the cross-validated AUC of a classifier telling
    generated from real events on all shared ``features`` together
    (:func:`hepbench.scoring.two_sample.two_sample_auc`; the undefined-value marker -25 is an
    ordinary value to it): ``process``, ``n_real``, ``n_gen``, ``auc``, ``auc_std`` (over folds).
    Processes with fewer than ``2 * folds`` real rows are left out."""
    from ...scoring.two_sample import two_sample_auc

    features = features or [f for f in HIGGSML2014_TO_FAIR.values() if f in generated and f in real]
    # The 2014 file names no background process: compare signal and background there.
    by = "labels"
    if (
        "detailed_labels" in real
        and "detailed_labels" in generated
        and set(real["detailed_labels"]) <= set(generated["detailed_labels"])
    ):
        by = "detailed_labels"
    rows = []
    for process in pd.unique(real[by]):
        g, r = generated.loc[generated[by] == process], real.loc[real[by] == process]
        if len(g) < 2 * folds or len(r) < 2 * folds:
            continue
        result = two_sample_auc(g[features].to_numpy(), r[features].to_numpy(), folds=folds)
        name = process if by == "detailed_labels" else {1: "signal", 0: "background"}[int(process)]
        rows.append(
            {
                "process": name,
                "n_real": result.n_real,
                "n_gen": result.n_generated,
                "auc": result.auc,
                "auc_std": result.std,
            }
        )
    return pd.DataFrame(rows)


def _plot(
    gen: pd.DataFrame, real: pd.DataFrame, features: list[str], path: Path, title: str, reference_name: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    ncol = 4
    nrow = int(np.ceil(len(features) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, feature in zip(axes.flat, features):
        rx, gx = real[feature].to_numpy(), gen[feature].to_numpy()
        rmask, gmask = rx != UNDEFINED, gx != UNDEFINED
        if rmask.sum() < 2:
            ax.set_visible(False)
            continue
        lo, hi = np.quantile(rx[rmask], [0.005, 0.995])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
        for x, w, m, name in (
            (rx, real["weights"].to_numpy(), rmask, reference_name),
            (gx, gen["weights"].to_numpy(), gmask, "generated"),
        ):
            counts, _ = np.histogram(np.clip(x[m], bins[0], bins[-1]), bins, weights=w[m])
            mplhep.histplot(counts / max(counts.sum(), 1e-12), bins, ax=ax, label=name, density=False)
        ax.set_xlabel(feature, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(features) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def validate_higgs_uncertainty(
    real_path: str | Path, generated: pd.DataFrame, out_dir: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare ``generated`` with real rows, the 2014 ATLAS CSV (names mapped) or a FAIR Universe
    parquet: :func:`compare_to_real` and :func:`two_sample_table` (also ``two_sample.md``)."""
    real_path = Path(real_path)
    if real_path.suffix == ".parquet":
        real, name = load_fair_universe(real_path), "FAIR Universe"
    else:
        real, name = load_higgsml2014(real_path), "ATLAS 2014"
    table = compare_to_real(generated, real, out_dir=out_dir, reference_name=name)
    two_sample = two_sample_table(generated, real)
    if out_dir is not None:
        (Path(out_dir) / "two_sample.md").write_text(markdown_table(two_sample))
    return table, two_sample
