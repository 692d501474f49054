"""Plots of a submission (PNG bytes), drawn with matplotlib in the mplhep style: HiggsML coverage and
intervals, the lhco SIC curve, calorimeter shower features against the reference."""

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


def sic_curve(points: dict[str, Any], title: str) -> bytes:
    """SIC = eps_S / sqrt(eps_B) against the signal efficiency, over the cuts where the maximum
    SIC is taken (``hepbench.scoring.anomaly.sic_points``), with the maximum marked."""
    plt = _pyplot()
    eps_s, sic = np.asarray(points["eps_s"], float), np.asarray(points["sic"], float)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.plot(eps_s, sic, color="tab:blue", lw=2, label="submission")
    ax.axhline(1.0, color="grey", ls=":", label="random cut (SIC = 1)")
    if len(sic):
        k = int(np.nanargmax(sic))
        ax.plot([eps_s[k]], [sic[k]], "o", color="tab:red", label=f"max SIC {sic[k]:.2f}")
    ax.set_xlabel("signal efficiency eps_S")
    ax.set_ylabel("SIC = eps_S / sqrt(eps_B)")
    ax.set_xlim(0, 1)
    ax.set_title(literal(title), fontsize=14)
    ax.legend(loc="lower center", fontsize=12)
    return _png(fig)


FEATURE_KINDS = {
    "e": ("Energy per layer", "E_layer [MeV]"),
    "ec_r": ("Centre of energy per layer", "radial centre of energy [mm]"),
    "width_r": ("Shower width per layer", "radial width [mm]"),
}
"""Prefix of a calorimeter feature (``e_3``: layer 3) -> figure title and axis label."""


def shower_features(histograms: dict[str, dict[str, list[float]]], kind: str, title: str) -> bytes:
    """Histograms of one kind of shower feature (``FEATURE_KINDS``), one panel per layer:
    the reference shaded, the generated showers as a line, both normalised to unit area."""
    plt = _pyplot()
    names = [n for n in histograms if n.rsplit("_", 1)[0] == kind]
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    heading, xlabel = FEATURE_KINDS[kind]
    for ax, name in zip(axes.flat, names):
        h = histograms[name]
        edges = np.asarray(h["edges"], float)
        for counts, style in ((h["reference"], "reference"), (h["generated"], "generated")):
            c = np.asarray(counts, float)
            density = c / max(c.sum(), 1.0) / np.diff(edges)
            if style == "reference":
                ax.stairs(density, edges, fill=True, color="lightgrey", label="reference")
            else:
                ax.stairs(density, edges, color="black", lw=1.5, label="generated")
        ax.set_title(literal(f"layer {name.rsplit('_', 1)[1]}"), fontsize=12)
        ax.set_xlabel(xlabel, fontsize=11)
        ax.tick_params(labelsize=9)
        ax.xaxis.get_offset_text().set_fontsize(9)
        ax.yaxis.get_offset_text().set_fontsize(9)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=9)
    fig.suptitle(literal(f"{heading}: {title}"), fontsize=14)
    fig.tight_layout()
    return _png(fig)


def higgs_plots(rows: list[dict[str, Any]], title: str) -> list[tuple[str, str, bytes]]:
    from ..challenges.higgs_uncertainty.harness import scored_answers

    shown = scored_answers(pd.DataFrame(rows))
    return [
        ("coverage_per_set.png", "Coverage per set", coverage_per_set(shown, title)),
        ("intervals.png", "Interval per pseudo-experiment against the true mu", intervals_vs_truth(shown, title)),
    ]


def sic_plots(points: dict[str, Any], title: str) -> list[tuple[str, str, bytes]]:
    return [("sic_curve.png", "SIC curve on the labelled test set", sic_curve(points, title))]


def calo_plots(histograms: dict[str, Any], title: str) -> list[tuple[str, str, bytes]]:
    return [
        (f"features_{kind}.png", f"{heading} against the reference", shower_features(histograms, kind, title))
        for kind, (heading, _) in FEATURE_KINDS.items()
        if any(n.rsplit("_", 1)[0] == kind for n in histograms)
    ]


PLOTTERS: dict[str, tuple[str, Any]] = {
    "pseudo_experiments": ("Answer per pseudo-experiment", higgs_plots),
    "sic_curve": ("Points of the SIC curve", sic_plots),
    "feature_histograms": ("Histograms of the shower features", calo_plots),
}
"""Detail of a Score (``Score.details[key]``) -> (title of its JSON file, its plots as
(file name, title, PNG bytes)). Every one is derived from the phase's truth."""
