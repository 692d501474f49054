"""Plots of a HiggsML Uncertainty submission (PNG bytes), drawn with matplotlib in the mplhep style."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from ..scoring.intervals import CONFIDENCE_LEVEL


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # Fixed metadata: the same rows always give the same bytes (rescoring is idempotent).
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def literal(text: str) -> str:
    """``text`` as matplotlib shows it verbatim: a ``$`` would start mathtext (a method named
    ``$\\foo{$`` stops the plot from rendering)."""
    return text.replace("$", r"\$")


def coverage_per_set(rows: pd.DataFrame, title: str) -> bytes:
    """Fraction of pseudo-experiments whose interval covers mu_true, per set, with its binomial
    error, against the 68.27% target."""
    plt = _pyplot()
    covered = (rows["p16"] <= rows["mu_true"]) & (rows["mu_true"] <= rows["p84"])
    per_set = covered.groupby(rows["set_index"]).agg(["mean", "size"])
    mu = rows.groupby("set_index")["mu_true"].first()
    err = np.sqrt(per_set["mean"] * (1 - per_set["mean"]) / per_set["size"])
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.errorbar(per_set.index, per_set["mean"], yerr=err, fmt="o", color="black", label="coverage of the set")
    ax.axhline(CONFIDENCE_LEVEL, color="tab:red", ls="--", label=f"target {CONFIDENCE_LEVEL:.2%}")
    for x, y, m in zip(per_set.index, per_set["mean"], mu):
        ax.annotate(f"$\\mu$={m:.2f}", (x, y), textcoords="offset points", xytext=(4, 6), fontsize=10)
    ax.set_xlabel("set index")
    ax.set_ylabel("coverage")
    ax.set_ylim(-0.05, 1.15)
    ax.set_title(literal(title), fontsize=14)
    ax.legend(loc="lower right", fontsize=12)
    return _png(fig)


def intervals_vs_truth(rows: pd.DataFrame, title: str) -> bytes:
    """Every pseudo-experiment's interval [p16, p84] at its true mu, against the diagonal."""
    plt = _pyplot()
    p16, p84, mu = rows["p16"].to_numpy(float), rows["p84"].to_numpy(float), rows["mu_true"].to_numpy(float)
    ok = np.isfinite(p16) & np.isfinite(p84)
    covered = ok & (p16 <= mu) & (mu <= p84)
    # spread the pseudo-experiments of one set a little along x so their intervals can be told apart
    jitter = (
        rows.groupby("set_index").cumcount().to_numpy() / max(1, rows.groupby("set_index").size().max()) - 0.5
    ) * 0.05
    x = mu + jitter
    fig, ax = plt.subplots(figsize=(8, 6))
    for mask, color, label in ((covered, "tab:blue", "covers $\\mu_{true}$"), (ok & ~covered, "tab:orange", "misses")):
        if mask.any():
            ax.vlines(x[mask], p16[mask], p84[mask], color=color, lw=1, alpha=0.7, label=label)
    lo, hi = float(np.nanmin(mu)) - 0.2, float(np.nanmax(mu)) + 0.2
    ax.plot([lo, hi], [lo, hi], color="black", ls="--", lw=1, label="$\\hat\\mu = \\mu_{true}$")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("$\\mu_{true}$")
    ax.set_ylabel("interval [p16, p84]")
    ax.set_title(literal(title), fontsize=14)
    ax.legend(loc="upper left", fontsize=12)
    return _png(fig)
