"""``hepbench demo``: every challenge end to end on its small preset, then the leaderboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..baselines.registry import BASELINES
from ..challenges import get_challenge
from .baseline_cmd import metrics_table, run_higgs_baseline
from .calo_runs import calo_metrics_table, run_calo_baseline
from .lhco_runs import lhco_metrics_table, run_lhco_baseline
from .apps import DeviceOption, JsonOption, ProgressOption, SeedOption, app, handles_errors
from .output import console, write_json


def rank(challenge: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order results by the challenge's ranking metrics (primary first, then tie-breakers)."""
    ranking = get_challenge(challenge).ranking
    return sorted(
        records,
        key=lambda r: tuple(-r["metrics"][m.name] if m.higher_is_better else r["metrics"][m.name] for m in ranking),
    )


def write_demo_leaderboard(home: Path, records: list[dict[str, Any]]) -> Path:
    """A fresh leaderboard at ``home`` holding ``records`` as scored baselines; returns the static
    site's index.html."""
    import shutil

    from ..leaderboard.db import open_store
    from ..leaderboard.imports import add_records
    from ..leaderboard.pages import build_site
    from ..leaderboard.queue import work
    from ..leaderboard.submissions import sync_challenges

    if home.exists():
        shutil.rmtree(home)
    store = open_store(home, f"sqlite:///{(home / 'leaderboard.db').resolve()}")
    try:
        sync_challenges(store)
        add_records(store, records, source="demo")
        work(store)
        return build_site(store, home / "site")
    finally:
        store.close()


@app.command("demo")
@handles_errors
def demo(
    preset: Annotated[str, typer.Option(help="Data size for every challenge (small: minutes on 2 CPU cores).")] = "small",
    seed: SeedOption = 0,
    sets: Annotated[int, typer.Option(help="Sets in the HiggsML test plan.")] = 5,
    pseudo_experiments: Annotated[int, typer.Option(help="Pseudo-experiments per set.")] = 20,
    data_root: Annotated[Path, typer.Option(help="Where generated data sets are kept (reused when present).")] = Path("hepbench-data"),
    device: DeviceOption = "auto",
    progress: ProgressOption = True,
    leaderboard: Annotated[Path, typer.Option(help="Folder of the demo's leaderboard (recreated on every run); the static site is written to its site/ folder.")] = Path("hepbench-runs/demo-leaderboard"),
    json_path: JsonOption = None,
) -> None:
    """Generate data, train every baseline, evaluate, score and print the leaderboard."""
    start = time.perf_counter()
    payload: dict[str, Any] = {"preset": preset, "seed": seed, "challenges": {}}

    challenge = "higgs-uncertainty"
    records = []
    for method in (name for name, b in BASELINES[challenge].items() if b.in_demo):
        records.append(
            run_higgs_baseline(method, preset, seed, data_root / challenge / f"{preset}-seed{seed}", sets,
                               pseudo_experiments, plan_seed=seed, size=preset, device=device, progress=progress)
        )
    ranked = rank(challenge, records)
    console.print(metrics_table(f"leaderboard: {challenge} ({preset}, {sets} sets x {pseudo_experiments} PE)", ranked))
    payload["challenges"][challenge] = [{k: v for k, v in r.items() if k != "pseudo_experiments"} for r in ranked]
    every = list(records)

    challenge = "lhco"
    records = [run_lhco_baseline(method, preset, seed, data_root / challenge / f"{preset}-seed{seed}", preset, device)
               for method, b in BASELINES[challenge].items() if b.in_demo]
    ranked = rank(challenge, records)
    console.print(lhco_metrics_table(f"leaderboard: {challenge} ({preset})", ranked))
    payload["challenges"][challenge] = [{k: v for k, v in r.items() if k != "sic_curve"} for r in ranked]
    every += records

    challenge = "calo"
    # The demo trains the tiny configurations: the small ones take many minutes each on two cores.
    records = [run_calo_baseline(method, preset, seed, data_root / challenge / f"{preset}-seed{seed}", "tiny", device,
                                 "ds1-photons", "tiny")[0]
               for method, b in BASELINES[challenge].items() if b.in_demo]
    ranked = rank(challenge, records)
    console.print(calo_metrics_table(f"leaderboard: {challenge} ({preset} showers, tiny generators)", ranked))
    payload["challenges"][challenge] = ranked
    every += records

    site = write_demo_leaderboard(leaderboard, every)
    console.print(f"leaderboard web site: {site} (or `hepbench leaderboard serve --home {leaderboard}`)",
                  soft_wrap=True)  # a path stays whole, to be copied

    payload["wall_seconds"] = time.perf_counter() - start
    console.print(f"demo finished in {payload['wall_seconds']:.0f} s")
    write_json(json_path, payload)
