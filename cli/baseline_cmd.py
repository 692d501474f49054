"""``hepbench baseline list|run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from ..baselines.device import resolve_device
from ..baselines.registry import BASELINES, get_baseline
from ..challenges import get_challenge
from ..challenges.higgs_uncertainty.presets import get_preset
from ..challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from ..challenges.higgs_uncertainty.run import run_estimator
from .data_cmd import ensure_higgs_dataset
from .apps import (
    ChallengeArg,
    DeviceOption,
    JsonOption,
    PresetOption,
    ProgressOption,
    SeedOption,
    baseline_app,
    handles_errors,
)
from .output import console, write_json


@baseline_app.command("list")
@handles_errors
def list_baselines(
    challenge: Annotated[Optional[str], typer.Argument(help="Only this challenge's baselines.")] = None,
    json_path: JsonOption = None,
) -> None:
    """List the baseline methods of every challenge (or one)."""
    if challenge is not None:
        get_challenge(challenge)
    table = Table(title="baselines")
    for column in ("challenge", "method", "description"):
        table.add_column(column)
    rows = []
    for cid, methods in BASELINES.items():
        if challenge is not None and cid != challenge:
            continue
        for b in methods.values():
            table.add_row(cid, b.name, b.description)
            rows.append({"challenge": cid, "method": b.name, "description": b.description})
    console.print(table)
    write_json(json_path, rows)


def metrics_table(title: str, records: list[dict[str, Any]]) -> Table:
    """Rich table of HiggsML Uncertainty results, one row per method."""
    table = Table(title=title)
    for column in ("method", "score", "coverage", "width", "RMSE", "MAE", "AUC", "AMS", "failed", "train s", "s/PE"):
        table.add_column(column, justify="right", no_wrap=(column == "method"))
    for r in records:
        m = r["metrics"]
        table.add_row(
            r["method"], f"{m['coverage_score']:.3f}", f"{m['coverage']:.3f}", f"{m['width']:.3f}",
            f"{m['rmse']:.3f}", f"{m['mae']:.3f}", f"{m.get('auc', float('nan')):.3f}",
            f"{m.get('ams', float('nan')):.2f}", str(m["n_failed"]), f"{r['train_seconds']:.0f}",
            f"{r['predict_seconds_mean']:.2f}",
        )
    return table


def run_higgs_baseline(
    method: str, preset: str, seed: int, data_dir: Path | None, n_sets: int | None, n_pe: int | None,
    plan_seed: int, size: str | None, device: str, progress: bool,
) -> dict[str, Any]:
    spec = get_preset(preset)
    baseline = get_baseline("higgs-uncertainty", method)
    resolved = resolve_device(device)
    data = ensure_higgs_dataset(preset, seed, data_dir)
    plan = make_test_plan(n_sets or spec.n_sets, n_pe or spec.n_pseudo_experiments, initial_seed=plan_seed)
    estimator = baseline.factory(size or preset, resolved, seed)
    console.print(f"[bold]{method}[/bold]: training on {len(data.train):,} events ({resolved}), "
                  f"then {len(plan)} pseudo-experiments")
    return run_estimator(method, estimator, data, plan, device=resolved, progress=progress)


@baseline_app.command("run")
@handles_errors
def run(
    challenge: ChallengeArg,
    method: Annotated[str, typer.Argument(help="Baseline name (see `hepbench baseline list`).")],
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    data: Annotated[Optional[Path], typer.Option(help="Data folder from `hepbench data generate` (generated if absent).")] = None,
    sets: Annotated[Optional[int], typer.Option(help="Number of sets in the test plan (default: the preset's).")] = None,
    pseudo_experiments: Annotated[Optional[int], typer.Option(help="Pseudo-experiments per set (default: the preset's).")] = None,
    plan_seed: Annotated[int, typer.Option(help="Initial seed of the test plan.")] = 0,
    size: Annotated[Optional[str], typer.Option(help="Model configuration: tiny | small | full (default: the preset).")] = None,
    device: DeviceOption = "auto",
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Train a baseline, evaluate it on a test plan and print its score."""
    get_challenge(challenge)
    if challenge != "higgs-uncertainty":
        raise ValueError(f"baselines for {challenge!r} are not available yet")
    record = run_higgs_baseline(method, preset, seed, data, sets, pseudo_experiments, plan_seed, size, device, progress)
    console.print(metrics_table(f"{challenge} / {preset}: {record['n_sets']} sets x {record['n_pseudo_experiments']} PE", [record]))
    write_json(json_path, record)
