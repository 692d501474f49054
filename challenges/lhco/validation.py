"""How close generated LHCO events are to the real R&D high-level features, feature by feature.

For background and signal separately, each feature gets the 1-D Wasserstein distance (in the
feature's unit, TeV or none) and divided by the real sample's standard deviation (0 =
identical, ~1 = shifted by one standard deviation), the Kolmogorov-Smirnov statistic and
both medians. The real tau21 values come only from jets whose taus the public subset got
right (``tau_valid_j*``, see ``real_data.load_highlevel_subset``). Overlaid normalised
histograms are saved as PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance

from ..higgs_uncertainty.validation import markdown_table
from .schema import COLUMNS, LABEL

FEATURES: tuple[str, ...] = (*COLUMNS, "mj2", "pt_j1", "pt_j2")
CLASSES: dict[str, int] = {"background": 0, "signal": 1}
_RANGES: dict[str, tuple[float, float]] = {
    "mjj": (1.5, 7.0),
    "mj1": (0.0, 0.8),
    "mj2": (0.0, 1.0),
    "delta_m": (0.0, 0.9),
    "tau21_j1": (0.0, 1.3),
    "tau21_j2": (0.0, 1.3),
    "pt_j1": (0.6, 2.5),
    "pt_j2": (0.6, 2.5),
}


def _real_values(real: pd.DataFrame, feature: str) -> np.ndarray:
    if feature.startswith("tau21_") and f"tau_valid_{feature[-2:]}" in real:
        real = real[real[f"tau_valid_{feature[-2:]}"]]
    return real[feature].to_numpy(np.float64)


def distance_table(generated: pd.DataFrame, real: pd.DataFrame, features: tuple[str, ...] = FEATURES) -> pd.DataFrame:
    """One row per (class, feature): ``class``, ``feature``, ``n_real``, ``n_gen``, ``w1``,
    ``w1_std``, ``ks``, ``median_real``, ``median_gen``. Both frames need ``label``."""
    rows = []
    for cls, label in CLASSES.items():
        g, r = generated[generated[LABEL] == label], real[real[LABEL] == label]
        if g.empty or r.empty:
            continue
        for feature in features:
            if feature not in g or feature not in r:
                continue
            x, y = g[feature].to_numpy(np.float64), _real_values(r, feature)
            w1 = float(wasserstein_distance(x, y))
            rows.append(
                {
                    "class": cls,
                    "feature": feature,
                    "n_real": len(y),
                    "n_gen": len(x),
                    "w1": w1,
                    "w1_std": w1 / float(np.std(y)),
                    "ks": float(ks_2samp(x, y).statistic),
                    "median_real": float(np.median(y)),
                    "median_gen": float(np.median(x)),
                }
            )
    return pd.DataFrame(rows)


CORRELATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("mj1", "mjj"),
    ("mj2", "mjj"),
    ("mj1", "mj2"),
    ("mj1", "tau21_j1"),
    ("mj2", "tau21_j2"),
    ("tau21_j1", "tau21_j2"),
)


def correlation_table(generated: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlations of :data:`CORRELATION_PAIRS` per class, real vs generated
    (the real pairs with a tau21 use only jets with valid taus)."""
    rows = []
    for cls, label in CLASSES.items():
        g, r = generated[generated[LABEL] == label], real[real[LABEL] == label]
        if g.empty or r.empty:
            continue
        for a, b in CORRELATION_PAIRS:
            rr = r
            for feature in (a, b):
                if feature.startswith("tau21_") and f"tau_valid_{feature[-2:]}" in rr:
                    rr = rr[rr[f"tau_valid_{feature[-2:]}"]]
            rows.append(
                {
                    "class": cls,
                    "pair": f"{a} : {b}",
                    "spearman_real": float(rr[a].corr(rr[b], method="spearman")),
                    "spearman_gen": float(g[a].corr(g[b], method="spearman")),
                }
            )
    return pd.DataFrame(rows)


def plot_overlays(
    generated: pd.DataFrame, real: pd.DataFrame, out_dir: str | Path, features: tuple[str, ...] = FEATURES
) -> list[Path]:
    """``histograms_{class}.png``: normalised histograms of each feature, real vs generated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for cls, label in CLASSES.items():
        g, r = generated[generated[LABEL] == label], real[real[LABEL] == label]
        if g.empty or r.empty:
            continue
        shown = [f for f in features if f in g and f in r]
        ncols = 4
        nrows = int(np.ceil(len(shown) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
        for ax, feature in zip(axes.ravel(), shown):
            bins = np.linspace(*_RANGES.get(feature, (0.0, 1.0)), 56)
            ax.hist(
                _real_values(r, feature), bins=bins, density=True, histtype="stepfilled", alpha=0.35, label="real R&D"
            )
            ax.hist(g[feature], bins=bins, density=True, histtype="step", linewidth=1.5, label="generated")
            ax.set_xlabel(feature + ("" if feature.startswith("tau") else " [TeV]"))
        for ax in axes.ravel()[len(shown) :]:
            ax.set_visible(False)
        axes[0, 0].legend()
        fig.suptitle(f"LHCO {cls}: generated vs real R&D high-level features")
        fig.tight_layout()
        path = out_dir / f"histograms_{cls}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def two_sample_table(
    generated: pd.DataFrame, real: pd.DataFrame, features: tuple[str, ...] = FEATURES, *, folds: int = 5
) -> pd.DataFrame:
    """Per class, the cross-validated AUC of a classifier telling generated from real events on
    all ``features`` together (:func:`hepbench.scoring.two_sample.two_sample_auc`): ``class``,
    ``n_real``, ``n_gen``, ``auc``, ``auc_std`` (over folds). Real events enter only with both
    jets' taus valid (the others' tau21 is wrong, and phi does not bias the substructure)."""
    from ...scoring.two_sample import two_sample_auc

    rows = []
    for cls, label in CLASSES.items():
        g, r = generated[generated[LABEL] == label], real[real[LABEL] == label]
        for jet in ("j1", "j2"):
            if f"tau_valid_{jet}" in r:
                r = r[r[f"tau_valid_{jet}"]]
        shown = [f for f in features if f in g and f in r]
        if len(g) < 2 * folds or len(r) < 2 * folds:
            continue
        result = two_sample_auc(g[shown].to_numpy(), r[shown].to_numpy(), folds=folds)
        rows.append(
            {
                "class": cls,
                "n_real": result.n_real,
                "n_gen": result.n_generated,
                "auc": result.auc,
                "auc_std": result.std,
            }
        )
    return pd.DataFrame(rows)


def validate_lhco(
    generated: pd.DataFrame, real: pd.DataFrame, out_dir: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`distance_table` and :func:`two_sample_table`; with ``out_dir`` also
    ``distances.csv``, ``distances.md``, ``two_sample.md``, ``correlations.md``
    (:func:`correlation_table`) and the PNGs."""
    table = distance_table(generated, real)
    two_sample = two_sample_table(generated, real)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        table.to_csv(out_dir / "distances.csv", index=False)
        (out_dir / "distances.md").write_text(markdown_table(table))
        (out_dir / "two_sample.md").write_text(markdown_table(two_sample))
        (out_dir / "correlations.md").write_text(markdown_table(correlation_table(generated, real)))
        plot_overlays(generated, real, out_dir)
    return table, two_sample


def validate_generator(
    real_folder: str | Path, events_per_process: int, seed: int, out_dir: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``events_per_process`` background and signal events and compare them with the
    real high-level subset in ``real_folder`` (:func:`validate_lhco`)."""
    from .generator import generate_events
    from .real_data import load_highlevel_subset

    real = load_highlevel_subset(real_folder)
    generated = generate_events(events_per_process, events_per_process, seed)
    return validate_lhco(generated, real, out_dir)


PARTICLE_QUANTITIES: tuple[str, ...] = (
    "multiplicity",
    "pt_fraction_1",
    "pt_fraction_2",
    "pt_fraction_3",
    "mass",
    "tau21",
)
"""Per-jet quantities of :func:`jet_quantities`: constituent count, pT fractions of the three
hardest constituents, jet mass (TeV), tau2 / tau1."""
PARTICLES_PER_JET_VALIDATION = 150
"""Particles per generated jet in the comparison: above every multiplicity the model draws."""


def jet_quantities(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, label: np.ndarray) -> pd.DataFrame:
    """One row per jet of the two leading anti-kT R = 1.0 jets of each event (particles (n, P),
    GeV, zero-padded): ``label``, ``jet`` (``j1`` the lighter, ``j2``) and
    :data:`PARTICLE_QUANTITIES`; events with fewer than two jets are left out."""
    from .real_data import jet_constituents, jet_features

    constituents, jets, multiplicity = jet_constituents(pt, eta, phi, 3)
    features = jet_features(pt, eta, phi)
    rows = []
    for j, name in enumerate(("j1", "j2")):
        fractions = constituents[:, j, :, 0] / np.maximum(jets[:, j, 0:1], 1e-12)
        rows.append(
            pd.DataFrame(
                {
                    LABEL: np.asarray(label),
                    "jet": name,
                    "multiplicity": multiplicity[:, j],
                    **{f"pt_fraction_{k + 1}": fractions[:, k] for k in range(3)},
                    "mass": jets[:, j, 3] / 1000.0,
                    "tau21": features[f"tau21_{name}"].to_numpy(),
                }
            )[multiplicity.min(axis=1) > 0]
        )
    return pd.concat(rows, ignore_index=True)


def particle_distance_table(generated: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """One row per (class, jet, quantity) of :func:`jet_quantities` tables: ``n_real``, ``n_gen``,
    ``w1`` (quantity's unit), ``w1_std`` (over the real standard deviation), ``ks`` and medians."""
    rows = []
    for cls, label in CLASSES.items():
        for jet in ("j1", "j2"):
            g = generated[(generated[LABEL] == label) & (generated["jet"] == jet)]
            r = real[(real[LABEL] == label) & (real["jet"] == jet)]
            if g.empty or r.empty:
                continue
            for quantity in PARTICLE_QUANTITIES:
                x, y = g[quantity].to_numpy(np.float64), r[quantity].to_numpy(np.float64)
                w1 = float(wasserstein_distance(x, y))
                rows.append(
                    {
                        "class": cls,
                        "feature": f"{quantity}_{jet}",
                        "n_real": len(y),
                        "n_gen": len(x),
                        "w1": w1,
                        "w1_std": w1 / max(float(np.std(y)), 1e-12),
                        "ks": float(ks_2samp(x, y).statistic),
                        "median_real": float(np.median(y)),
                        "median_gen": float(np.median(x)),
                    }
                )
    return pd.DataFrame(rows)


def validate_particles(
    real_file: str | Path, events_per_process: int, seed: int, out_dir: str | Path | None = None
) -> pd.DataFrame:
    """Compare the fast generator's particles (``events_per_process`` background and signal
    events, :data:`PARTICLES_PER_JET_VALIDATION` per jet) with the events of an R&D particle file
    (:func:`particle_distance_table`); with ``out_dir`` also ``particle_distances.csv`` / ``.md``."""
    from .generator import generate_events
    from .particles import event_particles
    from .real_data import iter_rnd_particles

    real = pd.concat([jet_quantities(*chunk) for chunk in iter_rnd_particles(real_file)], ignore_index=True)
    events = generate_events(events_per_process, events_per_process, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    particles = event_particles(events, PARTICLES_PER_JET_VALIDATION, rng)
    generated = jet_quantities(*particles, events[LABEL].to_numpy())
    table = particle_distance_table(generated, real)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        table.to_csv(out_dir / "particle_distances.csv", index=False)
        (out_dir / "particle_distances.md").write_text(markdown_table(table))
    return table


def particle_round_trip(n_background: int, n_signal: int, particles_per_jet: int, seed: int) -> pd.DataFrame:
    """Generated features -> particles -> anti-kT R = 1.0 and N-subjettiness -> features: one row
    per feature with the fraction of events within 0.2% and 2% (masses, pT) or within 0.05
    (tau21, also for targets below 0.7) and the median absolute difference."""
    from .generator import generate_events
    from .particles import event_particles
    from .real_data import jet_features

    events = generate_events(n_background, n_signal, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    found = jet_features(*event_particles(events, particles_per_jet, rng))
    rows = []
    for column in ("mjj", "mj1", "mj2", "pt_j1", "pt_j2"):
        ratio = np.abs(found[column] / events[column] - 1.0)
        rows.append(
            {
                "feature": column,
                "within_0.2%": float(np.mean(ratio < 2e-3)),
                "within_2%": float(np.mean(ratio < 0.02)),
                "median_abs_rel": float(np.median(ratio)),
            }
        )
    for column in ("tau21_j1", "tau21_j2"):
        miss = np.abs(found[column] - events[column])
        low = events[column] < 0.7
        rows.append(
            {
                "feature": column,
                "within_0.05": float(np.mean(miss < 0.05)),
                "within_0.05_below_0.7": float(np.mean(miss[low] < 0.05)),
                "median_abs": float(np.median(miss)),
            }
        )
    return pd.DataFrame(rows)
