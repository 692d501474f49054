"""Studies of HiggsML Uncertainty that produce rankings and plots rather than an interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_feature_ranking(data: Any, preset: str, seed: int, size: str, out: Path, progress: bool) -> dict[str, Any]:
    """Rank the features by every method; write rankings.json, rankings.md and
    auc_vs_n_features.png under ``out``; returns the rankings."""
    from rich.table import Table

    from ...baselines.higgs_uncertainty.feature_ranking import (
        FEATURE_RANKING_SIZES,
        markdown_rankings,
        plot_auc_curves,
        rank_features,
    )
    from ...output import console, write_json

    if size not in FEATURE_RANKING_SIZES:
        raise ValueError(f"size must be one of {sorted(FEATURE_RANKING_SIZES)}, got {size!r}")
    notify = (lambda message: console.print(f"feature ranking: {message}")) if progress else None
    result = rank_features(data.train, data.test, FEATURE_RANKING_SIZES[size], seed=seed, progress=notify)
    result.update({"preset": preset, "data_seed": seed, "size": size})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "rankings.json", result)
    (out / "rankings.md").write_text(markdown_rankings(result, top=len(result["methods"]["separation"]["order"])))
    plot = plot_auc_curves(result, out / "auc_vs_n_features.png")
    table = Table(title=f"feature ranking ({preset}, {size}; full-feature AUC {result['full_auc']:.3f})")
    for column in ("method", "top 3", "AUC top 1", "AUC top 3", "AUC top 5"):
        table.add_column(column)
    for method, record in result["methods"].items():
        curve = record["auc_curve"]
        table.add_row(method, ", ".join(record["order"][:3]), *(f"{curve[k - 1][1]:.3f}" for k in (1, 3, 5)))
    console.print(table)
    console.print(f"wrote {out / 'rankings.json'}, {out / 'rankings.md'} and {plot}")
    return result


def run_fixed_sample_offset(data: Any, preset: str, seed: int, size: str, out: Path, progress: bool) -> dict[str, Any]:
    """Train bdt-template-fit (model seed ``seed``) and measure the offset that the finite test set
    and templates give every pseudo-experiment; write fixed_sample.json under ``out``."""
    import time

    from rich.table import Table

    from ...baselines.higgs_uncertainty.fixed_sample import fixed_sample_offsets
    from ...baselines.higgs_uncertainty.registry import BASELINES
    from ...output import console, write_json
    from ...torch_common import resolve_device

    device = resolve_device("auto")
    estimator = BASELINES["bdt-template-fit"].factory(size, device, seed)
    if progress:
        console.print(f"fixed-sample offset: training bdt-template-fit ({size}, seed {seed}, {device})")
    start = time.perf_counter()
    estimator.fit(data.train)
    train_seconds = time.perf_counter() - start
    notify = (lambda message: console.print(f"fixed-sample offset: {message}")) if progress else None
    result = fixed_sample_offsets(estimator.inference, data.test, seed=seed, progress=notify)
    result.update(
        {
            "method": "bdt-template-fit",
            "preset": preset,
            "data_seed": seed,
            "size": size,
            "train_seconds": train_seconds,
        }
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "fixed_sample.json", result)
    table = Table(title=f"offset of mu_hat - mu_true shared by every pseudo-experiment ({preset}, seed {seed})")
    for column in ("Asimov fit", "offset", "spread (1 sd)"):
        table.add_column(column)
    spread = result["spread"]
    table.add_row("test set, nominal nuisances", f"{result['nominal']:+.3f}", f"{spread['both']:.3f} (samples)")
    table.add_row(
        f"test set, {len(result['draws'])} nuisance draws", f"{result['draws_mean']:+.3f}", f"{result['draws_std']:.3f}"
    )
    table.add_row("  from the test set's simulation errors", "", f"{spread['test']:.3f}")
    table.add_row("  from the templates' simulation errors", "", f"{spread['templates']:.3f}")
    console.print(table)
    widths = Table(title="width of the interval on the templates' Asimov data set (mu = 1)")
    widths.add_column("nuisances profiled")
    widths.add_column("width")
    for group, width in result["asimov_widths"].items():
        widths.add_row(group, f"{width:.3f}")
    console.print(widths)
    toys = Table(title="coverage of the interval on binned toys of the fit's own model")
    for column in ("templates", "coverage", "width", "pull sd"):
        toys.add_column(column)
    for name, toy in result["toy_coverage"].items():
        toys.add_row(
            name.replace("_", " "),
            f"{toy['coverage']:.3f} +- {toy['coverage_error']:.3f}",
            f"{toy['width']:.3f}",
            f"{toy['pull_std']:.3f}",
        )
    console.print(toys)
    return result


STUDY_RUNNERS: dict[str, Any] = {
    "feature-ranking": run_feature_ranking,
    "fixed-sample-offset": run_fixed_sample_offset,
}
"""Each study of ``registry.STUDIES``: (data, preset, seed, size, out, progress) -> result."""
