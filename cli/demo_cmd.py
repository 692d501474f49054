"""``hepbench demo``: every challenge end to end on its small preset, then the leaderboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import challenges
from .apps import DeviceOption, JsonOption, ProgressOption, SeedOption, app, handles_errors
from .output import console, write_json


@app.command("demo")
@handles_errors
def demo(
    preset: Annotated[
        str, typer.Option(help="Data size for every challenge (small: minutes on 2 CPU cores).")
    ] = "small",
    seed: SeedOption = 0,
    sets: Annotated[int, typer.Option(help="Sets in the HiggsML test plan.")] = 5,
    pseudo_experiments: Annotated[int, typer.Option(help="Pseudo-experiments per set.")] = 20,
    data_root: Annotated[Path, typer.Option(help="Where generated data sets are kept (reused when present).")] = Path(
        "hepbench-data"
    ),
    device: DeviceOption = "auto",
    progress: ProgressOption = True,
    leaderboard: Annotated[
        Path,
        typer.Option(
            help="Folder of the demo's leaderboard (recreated on every run); the static site is written to its site/ folder."
        ),
    ] = Path("hepbench-runs/demo-leaderboard"),
    json_path: JsonOption = None,
) -> None:
    """Generate data, train every baseline, evaluate, score and print the leaderboard."""
    from ..leaderboard.demo import demo_leaderboard, rank

    start = time.perf_counter()
    payload: dict[str, Any] = {"preset": preset, "seed": seed, "challenges": {}}
    every: list[dict[str, Any]] = []
    for spec in challenges.all():
        demo_methods = [name for name, b in spec.baselines().items() if b.in_demo]
        if not demo_methods:
            continue
        options, note = spec.demo_options(preset, seed, n_sets=sets, n_pseudo_experiments=pseudo_experiments)
        records = spec.run_demo(
            demo_methods,
            preset=preset,
            seed=seed,
            device=device,
            progress=progress,
            data_dir=data_root / spec.id / f"{preset}-seed{seed}",
            **options,
        )
        ranked = rank(spec, records)
        console.print(spec.table(f"leaderboard: {spec.id} ({note})", ranked))
        payload["challenges"][spec.id] = [{k: v for k, v in r.items() if k not in spec.demo_hidden} for r in ranked]
        every += records
    site = demo_leaderboard(leaderboard, every)
    console.print(
        f"leaderboard web site: {site} (or `hepbench leaderboard serve --home {leaderboard}`)", soft_wrap=True
    )  # a path stays whole, to be copied
    payload["wall_seconds"] = time.perf_counter() - start
    console.print(f"demo finished in {payload['wall_seconds']:.0f} s")
    write_json(json_path, payload)
