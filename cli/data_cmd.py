"""``hepbench data generate|validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..challenges import get_challenge
from ..challenges.higgs_uncertainty import dataset as higgs_dataset
from ..challenges.higgs_uncertainty.presets import get_preset
from ..challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from ..parallel import dask_client
from .apps import ChallengeArg, JsonOption, PresetOption, SchedulerOption, SeedOption, WorkersOption, data_app, handles_errors
from .output import console, write_json

DEFAULT_DATA_ROOT = Path("hepbench-data")


def default_data_dir(challenge: str, preset: str, seed: int) -> Path:
    return DEFAULT_DATA_ROOT / challenge / f"{preset}-seed{seed}"


def ensure_higgs_dataset(preset: str, seed: int, data_dir: Path | None) -> higgs_dataset.Dataset:
    """Load the data set from ``data_dir`` if it is there (checksums verified), else generate it."""
    target = data_dir or default_data_dir("higgs-uncertainty", preset, seed)
    if (target / "train.parquet").exists():
        data = higgs_dataset.load_dataset(target)
        if (data.preset, data.seed) != (preset, seed):
            raise ValueError(f"{target} holds preset {data.preset!r} seed {data.seed}, not {preset!r} seed {seed}")
        return data
    with console.status(f"generating higgs-uncertainty preset {preset!r} (seed {seed}) into {target}", spinner="dots"):
        return higgs_dataset.generate_dataset(preset, seed, target)


@data_app.command("generate")
@handles_errors
def generate(
    challenge: ChallengeArg,
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default hepbench-data/CHALLENGE/PRESET-seedSEED).")] = None,
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    json_path: JsonOption = None,
) -> None:
    """Generate the train and test splits of a preset, with JSON sidecars and the default test plan.

    The independent streams (each physics process of each split) are generated in parallel on
    ``--scheduler``; the files are byte-identical whichever scheduler made them."""
    get_challenge(challenge)
    if challenge == "lhco":
        from ..challenges.lhco.dataset import generate_with_summary

        target = out or default_data_dir(challenge, preset, seed)
        with dask_client(scheduler, workers) as client, \
                console.status(f"generating {challenge} preset {preset!r} (seed {seed})", spinner="dots"):
            summary = generate_with_summary(preset, seed, target, client=client)
        table = Table(title=f"{challenge} / {preset} / seed {seed} -> {target}")
        for column in ("file", "background", "signal"):
            table.add_column(column, justify="right")
        for name, counts in summary["files"].items():
            table.add_row(name, f"{counts['background']:,}", f"{counts['signal']:,}")
        console.print(table)
        write_json(json_path, {"challenge": challenge, "preset": preset, "seed": seed, "out": target, **summary})
        return
    if challenge == "calo":
        from ..challenges.calo.cli import generate_calo

        generate_calo(preset, seed, out or default_data_dir(challenge, preset, seed), json_path)
        return
    if challenge != "higgs-uncertainty":
        raise ValueError(f"data generation for {challenge!r} is not available yet")
    spec = get_preset(preset)
    target = out or default_data_dir(challenge, preset, seed)
    with dask_client(scheduler, workers) as client, \
            console.status(f"generating {challenge} preset {preset!r} (seed {seed})", spinner="dots"):
        data = higgs_dataset.generate_dataset(preset, seed, target, client=client)
    plan = make_test_plan(spec.n_sets, spec.n_pseudo_experiments, initial_seed=seed)
    plan.to_json(target / "test_plan.json")

    table = Table(title=f"{challenge} / {preset} / seed {seed} -> {target}")
    for column in ("split", "process", "events", "sum of weights"):
        table.add_column(column, justify="right")
    summary = {}
    for split, frame in (("train", data.train), ("test", data.test)):
        grouped = frame.groupby("detailed_labels", observed=True)["weights"]
        summary[split] = {"events": grouped.size().to_dict(), "sum_weights": grouped.sum().to_dict()}
        for process, n in grouped.size().items():
            table.add_row(split, process, f"{n:,}", f"{summary[split]['sum_weights'][process]:,.1f}")
    console.print(table)
    console.print(f"test plan: {plan.n_sets} sets x {plan.n_pseudo_experiments} pseudo-experiments -> {target / 'test_plan.json'}")
    write_json(json_path, {"challenge": challenge, "preset": preset, "seed": seed, "out": target, **summary})


@data_app.command("validate")
@handles_errors
def validate(
    challenge: ChallengeArg,
    real: Annotated[Path, typer.Option(help="Real rows to compare with: the 2014 ATLAS HiggsML CSV or a FAIR Universe parquet "
                                            "(higgs-uncertainty); the high-level subset folder (lhco).")] = Path(
        "../shared/data/higgsml2014/atlas-higgs-challenge-2014-v2.first22889.csv"
    ),
    events_per_process: Annotated[int, typer.Option(help="Generated events per process.")] = 200_000,
    seed: SeedOption = 1,
    out: Annotated[Path, typer.Option(help="Folder for the table (CSV, markdown) and the PNG histograms.")] = Path(
        "validation"
    ),
    json_path: JsonOption = None,
) -> None:
    """Compare generated events with real simulation: per-feature distances and overlaid histograms."""
    get_challenge(challenge)
    if challenge == "lhco":
        from ..challenges.lhco.validation import validate_generator

        folder = real if real.is_dir() else Path("../shared/data/lhco2020/highlevel_subset")
        with console.status("generating events to compare", spinner="dots"):
            table = validate_generator(folder, events_per_process, seed, out)
        view = Table(title=f"generated vs {folder} (W1 / std of real; KS)")
        for column in ("class", "feature", "w1_std", "ks", "median_real", "median_gen"):
            view.add_column(column, justify="right")
        for r in table.to_dict(orient="records"):
            view.add_row(r["class"], r["feature"], f"{r['w1_std']:.3f}", f"{r['ks']:.3f}", f"{r['median_real']:.3g}",
                         f"{r['median_gen']:.3g}")
        console.print(view)
        console.print(f"histograms and tables written under {out}")
        write_json(json_path, table.to_dict(orient="records"))
        return
    if challenge == "calo":
        from ..challenges.calo.cli import validate_calo

        validate_calo(out, seed, json_path)
        return
    if challenge != "higgs-uncertainty":
        raise ValueError(f"validation for {challenge!r} is not available yet")
    from ..challenges.higgs_uncertainty.generator import generate_events
    from ..challenges.higgs_uncertainty.schema import PROCESSES
    from ..challenges.higgs_uncertainty.validation import validate_higgs_uncertainty

    if not real.exists():
        raise FileNotFoundError(f"{real}: real data file not found (pass --real PATH)")
    with console.status("generating events to compare", spinner="dots"):
        generated = generate_events({p: events_per_process for p in PROCESSES}, seed=seed)
    table = validate_higgs_uncertainty(real, generated, out)
    view = Table(title=f"generated vs {real.name} (W1 / std of real; KS)")
    for column in ("feature", "class", "w1_std", "ks", "mean_real", "mean_gen"):
        view.add_column(column, justify="right")
    for r in table.to_dict(orient="records"):
        view.add_row(r["feature"], r["class"], f"{r['w1_std']:.3f}", f"{r['ks']:.3f}", f"{r['mean_real']:.3g}",
                     f"{r['mean_gen']:.3g}")
    console.print(view)
    console.print(f"histograms and tables written under {out}")
    write_json(json_path, table.to_dict(orient="records"))


@data_app.command("black-box")
@handles_errors
def black_box(
    config: Annotated[Path, typer.Argument(help="The organiser's secret configuration (JSON, outside any shared folder).")],
    public: Annotated[Path, typer.Option(help="Folder for what participants get (unlabelled data).")],
    organiser: Annotated[Path, typer.Option(help="Folder for the truth; never give it to participants.")],
    json_path: JsonOption = None,
) -> None:
    """lhco: generate a black box from a secret configuration; the truth goes to --organiser only.

    Score an answer with `hepbench score lhco --answer ANSWER.json --organiser DIR`."""
    from ..challenges.lhco.black_box import make_black_box

    with console.status(f"generating the black box of {config}", spinner="dots"):
        truth = make_black_box(config, public, organiser)
    console.print(f"public data: {public / 'data.parquet'} ({truth['n_events']:,} events); truth kept in {organiser}")
    # The truth stays out of the terminal and the JSON: only what participants may see.
    write_json(json_path, {"challenge": "lhco", "public": public, "n_events": truth["n_events"]})
