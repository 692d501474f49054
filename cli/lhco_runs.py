"""LHCO baselines from the command line: the data set a run uses, one run, and a comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..baselines.device import resolve_device
from ..baselines.registry import get_baseline
from ..challenges.lhco.dataset import LhcoDataset, generate_dataset, load_dataset
from .data_cmd import default_data_dir
from .output import console

REAL_SUBSET = Path("../shared/data/lhco2020/highlevel_subset")


def ensure_lhco_dataset(preset: str, seed: int, data_dir: Path | None, real: Path | None = None) -> LhcoDataset:
    """The data set of a run: the real high-level subset split as a benchmark (``real``), a
    written one from ``data_dir`` (checksums verified), or the preset generated into the
    default folder."""
    if real is not None:
        from ..challenges.lhco.real_benchmark import real_subset_dataset
        from ..challenges.lhco.real_data import load_highlevel_subset

        return real_subset_dataset(load_highlevel_subset(real), seed)
    target = data_dir or default_data_dir("lhco", preset, seed)
    if (target / "data.parquet").exists():
        data = load_dataset(target)
        if (data.preset, data.seed) != (preset, seed):
            raise ValueError(f"{target} holds preset {data.preset!r} seed {data.seed}, not {preset!r} seed {seed}")
        return data
    with console.status(f"generating lhco preset {preset!r} (seed {seed}) into {target}", spinner="dots"):
        return generate_dataset(preset, seed, target)


def run_lhco_baseline(method: str, preset: str, seed: int, data_dir: Path | None, size: str | None, device: str,
                      model_seed: int | None = None, real: Path | None = None) -> dict[str, Any]:
    """Fit ``method`` on the data set and score it; the JSON-ready record (without the
    per-event scores). The bump hunt runs on an independent generated sample of the preset."""
    from ..challenges.lhco.run import bump_sample_seed, run_detector

    baseline = get_baseline("lhco", method)
    resolved = resolve_device(device)
    dataset = ensure_lhco_dataset(preset, seed, data_dir, real)
    model_seed = seed if model_seed is None else model_seed
    detector = baseline.factory(size or ("small" if real is not None else preset), resolved, model_seed)
    # Real events have no independent sample of the same process: no bump hunt there.
    bump = None if real is not None else generate_dataset(preset, bump_sample_seed(seed)).inputs.data
    console.print(f"[bold]{method}[/bold] (seed {model_seed}): fitting on {len(dataset.inputs.data):,} events ({resolved})")
    record = run_detector(method, detector, dataset, device=resolved, bump_data=bump)
    record.update(size=size or preset, model_seed=model_seed, data="real-subset" if real is not None else "generated")
    return record


def lhco_metrics_table(title: str, records: list[dict[str, Any]]):
    """Rich table of LHCO results, one row per record."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("method", "seed", "max SIC", "AUC", "1/eps_B@0.2", "1/eps_B@0.5", "bump Z", "train s"):
        table.add_column(column, justify="right", no_wrap=(column == "method"))
    for r in records:
        m = r["metrics"]
        table.add_row(r["method"], str(r["model_seed"]), f"{m['max_sic']:.2f}", f"{m['auc']:.3f}",
                      f"{m['rejection_at_eps_s_0.2']:.1f}", f"{m['rejection_at_eps_s_0.5']:.1f}",
                      f"{m.get('bump_hunt_z_max', float('nan')):.2f}", f"{r['train_seconds']:.0f}")
    return table
