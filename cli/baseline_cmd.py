"""``hepbench baseline list|run|compare|tune``."""

from __future__ import annotations

import datetime
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import challenges
from .apps import (
    ChallengeArg,
    DataDirOption,
    DeviceOption,
    JsonOption,
    PlanSeedOption,
    PresetOption,
    ProgressOption,
    PseudoExperimentsOption,
    SchedulerOption,
    SeedOption,
    SetsOption,
    SizeOption,
    WorkersOption,
    baseline_app,
    handles_errors,
    writable_folder,
)
from .output import console, write_json

GeometryOption = Annotated[
    str | None,
    typer.Option(
        "--geometry",
        help="calo: ds1-photons | ds1-pions | ds2 | ds3 (run: default ds1-photons; compare: every geometry of the preset).",
    ),
]
ClassifierOption = Annotated[
    str | None,
    typer.Option(
        "--classifier",
        help="calo: size of the evaluation classifiers: tiny | small | full (the anchor's 3 x 2048 MLP, 50 epochs).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Hyperparameters (and size, unless --size) of a tuned configuration: best_config.json or search.json of `hepbench baseline tune`.",
    ),
]
RealSubsetOption = Annotated[
    Path | None,
    typer.Option(
        "--real", help="lhco: run on the real high-level subset (folder of scalars_*.h5) instead of generated data."
    ),
]

MinBackgroundOption = Annotated[
    float | None,
    typer.Option(
        "--min-background",
        help="lhco: max SIC only over cuts keeping at least this many test background events (default 25).",
    ),
]

ShowersOption = Annotated[
    int | None,
    typer.Option(
        "--showers",
        min=1,
        help="calo: train and evaluate on the first N showers of each split (default: all of the preset's).",
    ),
]

EpochsOption = Annotated[
    int | None,
    typer.Option(
        "--epochs",
        min=1,
        help="calo: cap on the generator's training epochs (default: its size's); early stopping may end it sooner.",
    ),
]


@baseline_app.command("list")
@handles_errors
def list_baselines(
    challenge: Annotated[str | None, typer.Argument(help="Only this challenge's baselines.")] = None,
    json_path: JsonOption = None,
) -> None:
    """List the baseline methods of every challenge (or one)."""
    from rich.table import Table

    chosen = [challenges.get(challenge)] if challenge is not None else challenges.all()
    table = Table(title="baselines")
    for column in ("challenge", "method", "tune", "description"):
        table.add_column(column)
    rows = []
    for spec in chosen:
        for b in spec.baselines().values():
            table.add_row(spec.id, b.name, "yes" if b.search_space else "", b.description)
            rows.append(
                {
                    "challenge": spec.id,
                    "method": b.name,
                    "description": b.description,
                    "search_space": {name: param.describe() for name, param in b.search_space.items()},
                }
            )
        for name, description in spec.studies().items():
            table.add_row(spec.id, name, "", f"(study) {description}")
            rows.append({"challenge": spec.id, "method": name, "description": description, "study": True})
    console.print(table)
    write_json(json_path, rows)


def _options(**given: Any) -> dict[str, Any]:
    """The challenge-specific options a user actually gave (None / empty ones left out)."""
    return {k: v for k, v in given.items() if v not in (None, [], ())}


@baseline_app.command("run")
@handles_errors
def run(
    challenge: ChallengeArg,
    method: Annotated[str, typer.Argument(help="Baseline name (see `hepbench baseline list`).")],
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    data: DataDirOption = None,
    sets: SetsOption = None,
    pseudo_experiments: PseudoExperimentsOption = None,
    plan_seed: PlanSeedOption = None,
    size: SizeOption = None,
    device: DeviceOption = "auto",
    model_seed: Annotated[
        list[int] | None,
        typer.Option(
            help="Seed of the training (default: --seed); repeat the option to train once per seed, in parallel on --scheduler."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for a study's results (default: the study's name); calo: where a run also writes its "
            "generated showers (official HDF5) and the trained generator (.pt).",
            callback=writable_folder,
        ),
    ] = None,
    real: RealSubsetOption = None,
    min_background: MinBackgroundOption = None,
    geometry: GeometryOption = None,
    classifier: ClassifierOption = None,
    showers: ShowersOption = None,
    epochs: EpochsOption = None,
    config: ConfigOption = None,
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Folder where every network training keeps its state after each epoch (higgs-uncertainty: "
            "also the trained model and each pseudo-experiment's answer); removed when the run ends.",
            callback=writable_folder,
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the stopped run held in --checkpoint (same options).")] = False,
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Train a baseline, evaluate it and print its score (or run a study).

    With one training seed a HiggsML run spreads its pseudo-experiments over the scheduler's
    workers; with several, each worker trains and evaluates one seed. The JSON is the record,
    or for several seeds ``{"results": [...], "summary": ...}``.
    """
    spec = challenges.get(challenge)
    if method in spec.studies():
        write_json(
            json_path,
            spec.run_study(
                method,
                preset=preset,
                seed=seed,
                data_dir=data,
                size=spec.model_size(preset, size),
                out=out or Path(method),
                progress=progress,
            ),
        )
        return
    spec.baseline(method)
    seeds = model_seed or [seed]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--model-seed values repeat: {seeds}")
    if out is not None and len(seeds) > 1:
        raise ValueError("--out takes one --model-seed: the runs of several seeds would write the same files")
    options = _options(
        n_sets=sets,
        n_pseudo_experiments=pseudo_experiments,
        real=real,
        min_background=min_background,
        geometry=geometry,
        classifier=classifier,
        showers=showers,
        epochs=epochs,
        out=out,
        plan_seed=plan_seed,
        checkpoint=checkpoint,
        resume=resume or None,
    )
    if config is not None:
        from ..baselines.tuning import read_config

        # A tuned configuration overrides its size's defaults: that size, unless --size says otherwise.
        tuned_size, options["params"] = read_config(config, challenge, method)
        size = size or tuned_size
    title = f"{challenge} / {preset}"
    if len(seeds) == 1:
        payload: Any = spec.run_baseline(
            method,
            preset=preset,
            seed=seed,
            data_dir=data,
            size=size,
            device=device,
            model_seed=seeds[0],
            progress=progress,
            scheduler=scheduler,
            workers=workers,
            **options,
        )
        records = [payload]
    else:
        payload = spec.run_seeds_summary(
            method,
            seeds,
            preset=preset,
            seed=seed,
            data_dir=data,
            size=size,
            device=device,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            **options,
        )
        records = payload["results"]
    if "n_sets" in records[0]:
        title += f": {records[0]['n_sets']} sets x {records[0]['n_pseudo_experiments']} PE"
    console.print(spec.table(title, records))
    if "summary" in payload and isinstance(payload["summary"], dict):
        console.print(
            "over seeds: " + ", ".join(f"{k} {v['mean']:.3f} +- {v['std']:.3f}" for k, v in payload["summary"].items())
        )
    write_json(json_path, payload)


@baseline_app.command("compare")
@handles_errors
def compare(
    challenge: ChallengeArg,
    methods: Annotated[
        str | None,
        typer.Option(help="Comma-separated baselines (default: the comparison table's; 'all' for every one)."),
    ] = None,
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    data: DataDirOption = None,
    sets: SetsOption = None,
    pseudo_experiments: PseudoExperimentsOption = None,
    plan_seed: PlanSeedOption = None,
    size: SizeOption = None,
    device: DeviceOption = "auto",
    markdown: Annotated[
        Path | None, typer.Option(help="Markdown file whose comparison section is (re)written, e.g. docs/results.md.")
    ] = None,
    machine: Annotated[str, typer.Option(help="Machine description written above the table.")] = "unspecified machine",
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Keep the results already in --json made on the same data (seed and generator version), plan, size and floor; run only the missing methods (lhco: the missing method and seed pairs) and keep in the file and table those of other methods, and continue a stopped one inside its training (calo: every generator reruns, its finished trainings come back at once)."
        ),
    ] = False,
    model_seed: Annotated[
        list[int] | None,
        typer.Option(
            help="lhco: training seeds, repeat the option (default 0, 1, 2); the table gives the median and 16-84% range."
        ),
    ] = None,
    real: RealSubsetOption = None,
    min_background: MinBackgroundOption = None,
    geometry: GeometryOption = None,
    classifier: ClassifierOption = None,
    epochs: EpochsOption = None,
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Rerun every baseline on the same data (and test plan) and tabulate them."""
    spec = challenges.get(challenge)
    command = "hepbench " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a not in ("--resume", "--no-resume"))
    if methods is None:
        names = list(spec.comparison_methods())
    elif methods == "all":
        names = list(spec.baselines())
    else:
        names = [m.strip() for m in methods.split(",") if m.strip()]
    for name in names:
        spec.baseline(name)
    spec.compare(
        names,
        preset=preset,
        seed=seed,
        data=data,
        size=size,
        device=device,
        scheduler=scheduler,
        workers=workers,
        resume=resume,
        progress=progress,
        markdown=markdown,
        machine=machine,
        command=command,
        date=datetime.date.today().isoformat(),
        json_path=json_path,
        # Only the options given: a challenge refuses those that do not apply to it.
        **_options(
            sets=sets,
            pseudo_experiments=pseudo_experiments,
            plan_seed=plan_seed,
            model_seeds=model_seed,
            real=real,
            min_background=min_background,
            geometry=geometry,
            classifier=classifier,
            epochs=epochs,
        ),
    )


@baseline_app.command("tune")
@handles_errors
def tune(
    challenge: ChallengeArg,
    method: Annotated[str, typer.Argument(help="Baseline with a search space (see `hepbench baseline list`).")],
    trials: Annotated[int, typer.Option("--trials", help="Trials proposed by the Gaussian-process sampler.")] = 20,
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    data: DataDirOption = None,
    size: SizeOption = None,
    device: DeviceOption = "auto",
    model_seed: Annotated[int | None, typer.Option(help="Seed of every trial's training (default: --seed).")] = None,
    sets: SetsOption = None,
    pseudo_experiments: PseudoExperimentsOption = None,
    geometry: GeometryOption = None,
    classifier: ClassifierOption = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for search.json, best_config.json and convergence.png.", callback=writable_folder
        ),
    ] = Path("tune"),
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Tune a baseline's hyperparameters by Bayesian optimisation (Gaussian-process surrogate)
    on a validation objective that never reads the test data; trials run on Dask workers.

    Reuse the best configuration with `hepbench baseline run CHALLENGE METHOD --config OUT/best_config.json`.
    """
    from ..baselines.tuning import CONFIG_FILE, PLOT_FILE, SEARCH_FILE
    from ..baselines.tuning import tune as run_search

    search = run_search(
        challenge,
        method,
        n_trials=trials,
        preset=preset,
        seed=seed,
        data_dir=data,
        size=size,
        device=device,
        model_seed=model_seed,
        scheduler=scheduler,
        workers=workers,
        out=out,
        progress=progress,
        options=_options(
            n_sets=sets, n_pseudo_experiments=pseudo_experiments, geometry=geometry, classifier=classifier
        ),
    )
    name = search["objective"]["name"]
    default = (search["default"] or {}).get("value")
    best = search["best"]
    console.print(
        f"best of {len(search['trials'])} trials: validation {name} {best['value']:.4g} (trial {best['number']}; "
        f"default configuration {'-' if default is None else format(default, '.4g')})"
    )
    console.print(", ".join(f"{k}={v}" for k, v in best["params"].items()))
    console.print(f"wrote {out / SEARCH_FILE}, {out / CONFIG_FILE} and {out / PLOT_FILE}")
    write_json(json_path, search)
