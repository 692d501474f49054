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
