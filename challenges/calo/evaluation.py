"""Score a generated shower file against a reference file (both in the official HDF5 format)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ...scoring import calo as metrics
from .geometry import DATASETS, Geometry, builtin_geometry
from .showers_io import read_showers


def geometry_for(n_voxels: int, name: str | None = None) -> Geometry:
    """The named geometry, or the official one with ``n_voxels`` voxels (368 is data set 1 photons)."""
    if name is not None:
        geometry = builtin_geometry(name)
        if geometry.n_voxels != n_voxels:
            raise ValueError(f"geometry {geometry.name} has {geometry.n_voxels} voxels, the files {n_voxels}")
        return geometry
    for candidate in DATASETS:
        geometry = builtin_geometry(candidate)
        if geometry.n_voxels == n_voxels:
            return geometry
    raise ValueError(f"no official geometry has {n_voxels} voxels; pass the geometry by name")


def score_files(
    generated: str | Path,
    reference: str | Path,
    *,
    geometry: str | None = None,
    classifier: str = "small",
    n_runs: int = 1,
    max_showers: int | None = None,
    seed: int = 0,
    device: str = "auto",
    plots: str | Path | None = None,
) -> dict[str, Any]:
    """All metrics of ``generated`` against ``reference``; with ``plots``, feature histograms there."""
    start = time.perf_counter()
    ref = read_showers(reference, max_showers=max_showers)
    gen = read_showers(generated, n_voxels=ref.showers.shape[1], max_showers=max_showers)
    geo = geometry_for(ref.showers.shape[1], geometry)
    scores = metrics.evaluate(
        geo,
        (ref.incident_energy, ref.showers),
        (gen.incident_energy, gen.showers),
        classifier=classifier,
        n_runs=n_runs,
        seed=seed,
        device=device,
    )
    if plots is not None:
        plot_features(
            geo,
            (ref.incident_energy, ref.showers),
            (gen.incident_energy, gen.showers),
            Path(plots),
            scores.separation_powers,
        )
    return {
        "geometry": geo.name,
        "generated": str(generated),
        "reference": str(reference),
        "classifier": classifier,
        **scores.to_dict(),
        "seconds": time.perf_counter() - start,
    }


def plot_features(
    geometry: Geometry,
    reference: tuple[np.ndarray, np.ndarray],
    generated: tuple[np.ndarray, np.ndarray],
    out: Path,
    separation: dict[str, float],
    per_page: int = 16,
) -> list[Path]:
    """Reference vs generated histograms of the high-level features, ``per_page`` per PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threshold = metrics.evaluation_threshold(geometry)
    f_ref = metrics.high_level_features(geometry, reference[0], metrics.apply_threshold(reference[1], threshold))
    f_gen = metrics.high_level_features(geometry, generated[0], metrics.apply_threshold(generated[1], threshold))
    names = list(f_ref)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for page in range(0, len(names), per_page):
        chunk = names[page : page + per_page]
        fig, axes = plt.subplots(4, 4, figsize=(14, 12))
        for ax, name in zip(axes.flat, chunk):
            bins = metrics.feature_bins(f_ref[name])[1:-1]
            ax.hist(f_ref[name], bins, histtype="stepfilled", alpha=0.4, density=True, label="reference")
            ax.hist(f_gen[name], bins, histtype="step", density=True, label="generated")
            ax.set_title(f"{name}  S={separation[name]:.3f}", fontsize=9)
        for ax in axes.flat[len(chunk) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.tight_layout()
        path = out / f"features_{page // per_page:02d}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    return paths


def multiclass_heatmap(result: metrics.Multiclass, title: str) -> bytes:
    """PNG of the multiclass matrix: cell (i, j) is the mean log p(model i | x) over model j's
    held-out showers, with the reference's log posterior L_i as the last column."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = result.names
    cells = np.column_stack([np.array(result.matrix), [result.log_posterior[n] for n in names]])
    columns = [*names, "reference"]
    size = 1.2 + 0.9 * len(columns)
    fig, ax = plt.subplots(figsize=(size + 1.5, 0.9 * len(names) + 1.8))
    image = ax.imshow(cells, cmap="viridis", vmin=min(float(cells.min()), np.log(1 / len(names))), vmax=0.0)
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.axvline(len(names) - 0.5, color="white", lw=2)
    for (i, j), value in np.ndenumerate(cells):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color="white" if value < -1 else "black")
    ax.set_xlabel("showers of")
    ax.set_ylabel("log p(class | x)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="mean log posterior")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
