"""Calo baselines from the command line: the data set, one generator, and a comparison table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..baselines.device import resolve_device
from ..baselines.registry import get_baseline
from ..challenges.calo.dataset import file_name, generate_dataset, get_calo_preset
from ..challenges.sections import section_markers
from .data_cmd import default_data_dir
from .output import console


def ensure_calo_dataset(preset: str, seed: int, data_dir: Path | None) -> Path:
    """The folder holding the preset's showers, generated there when absent."""
    target = data_dir or default_data_dir("calo", preset, seed)
    geometries = list(get_calo_preset(preset).showers)
    if not all((target / file_name(g, s)).exists() for g in geometries for s in ("train", "test")):
        with console.status(f"simulating calo preset {preset!r} (seed {seed}) into {target}", spinner="dots"):
            generate_dataset(preset, seed, target)
    return target


def run_calo_baseline(method: str, preset: str, seed: int, data_dir: Path | None, size: str | None, device: str,
                      geometry: str, classifier: str, model_seed: int | None = None,
                      out: Path | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """Train ``method`` on one geometry of the preset and evaluate it; (record, generated showers)."""
    from ..challenges.calo.run import run_generator

    baseline = get_baseline("calo", method)
    resolved = resolve_device(device)
    folder = ensure_calo_dataset(preset, seed, data_dir)
    if geometry not in get_calo_preset(preset).showers:
        raise ValueError(f"preset {preset!r} has no {geometry!r} showers; it has {list(get_calo_preset(preset).showers)}")
    model_seed = seed if model_seed is None else model_seed
    console.print(f"[bold]{method}[/bold] on {geometry}: training ({resolved})")
    record, generated = run_generator(method, baseline.factory(size or preset, resolved, model_seed), folder, geometry,
                                      classifier=classifier, device=resolved, seed=model_seed, out=out)
    record["size"] = size or preset
    return record, generated


def calo_metrics_table(title: str, records: list[dict[str, Any]]):
    from rich.table import Table

    table = Table(title=title)
    for column in ("method", "geometry", "AUC low", "AUC high", "JSD low", "FPD", "KPD", "sep. power", "ms/shower",
                   "multiclass", "params", "train s"):
        table.add_column(column, justify="right", no_wrap=(column == "method"))
    for r in records:
        m = r["metrics"]
        table.add_row(r["method"], r["geometry"], f"{m['auc_low']:.3f}", f"{m['auc_high']:.3f}", f"{m['jsd_low']:.3f}",
                      f"{m['fpd']:.4f}", f"{m['kpd']:.2e}", f"{m['separation_power_mean']:.3f}",
                      f"{m['ms_per_shower']:.3g}", f"{m.get('multiclass_log_posterior', float('nan')):.2f}",
                      f"{r['n_parameters']:,}", f"{r['train_seconds']:.0f}")
    return table


def calo_markdown(records: list[dict[str, Any]], multiclass: dict[str, float], *, geometry: str, command: str,
                  machine: str, date: str) -> str:
    """The marked section ``comparison:calo:GEOMETRY`` of docs/results.md."""
    begin, end = section_markers(f"comparison:calo:{geometry}")
    first = records[0]
    lines = [
        begin,
        f"### {geometry}",
        "",
        f"Reference: GFlash showers of preset `{first['preset']}` (seed {first['data_seed']}), {first['n_train']:,} "
        f"training and {first['n_test']:,} test showers; classifier `{first['classifier']}`; timing on "
        f"{first['device']} at batch {max(int(k) for k in first['timing'])}. Multiclass: mean log posterior on "
        f"held-out reference showers (higher is better; ln(1/{len(multiclass)}) = {np.log(1 / len(multiclass)):.2f} "
        f"when indistinguishable); the `reference` row is an independent GFlash sample.",
        f"Machine: {machine}; {date}. Command: `{command}`",
        "",
        "| method | AUC low | AUC high | JSD low | FPD | KPD | mean sep. power | multiclass | ms / shower | parameters | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        m = r["metrics"]
        lines.append(
            f"| {r['method']} | {m['auc_low']:.3f} | {m['auc_high']:.3f} | {m['jsd_low']:.3f} | {m['fpd']:.4f} | "
            f"{m['kpd']:.2e} | {m['separation_power_mean']:.3f} | {multiclass.get(r['method'], float('nan')):.2f} | "
            f"{m['ms_per_shower']:.3g} | {r['n_parameters']:,} | {r['train_seconds']:.0f} |"
        )
    if "reference" in multiclass:
        lines.append(f"| reference | | | | | | | {multiclass['reference']:.2f} | | | |")
    lines.append(end)
    return "\n".join(lines) + "\n"
