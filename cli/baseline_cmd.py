"""``hepbench baseline list|run|compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from ..baselines.device import resolve_device
from ..baselines.feature_ranking import FEATURE_RANKING_SIZES, markdown_rankings, plot_auc_curves, rank_features
from ..baselines.registry import BASELINES, COMPARISON_TABLE, STUDIES, get_baseline
from ..challenges import get_challenge
from ..challenges.higgs_uncertainty.presets import get_preset
from ..challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from ..challenges.higgs_uncertainty.comparison import comparison_markdown, write_section
from ..challenges.higgs_uncertainty.run import run_estimator
from ..parallel import dask_client, map_tasks
from .data_cmd import ensure_higgs_dataset
from .calo_runs import calo_markdown, calo_metrics_table, ensure_calo_dataset, run_calo_baseline
from .lhco_runs import ensure_lhco_dataset, lhco_metrics_table, run_lhco_baseline
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
        for name, description in STUDIES.get(cid, {}).items():
            table.add_row(cid, name, f"(study) {description}")
            rows.append({"challenge": cid, "method": name, "description": description, "study": True})
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


def require_baselines(challenge: str) -> None:
    """A known challenge id whose baselines have landed."""
    get_challenge(challenge)
    if challenge not in BASELINES:
        raise ValueError(f"baselines for {challenge!r} are not available yet")


def run_higgs_baseline(
    method: str, preset: str, seed: int, data_dir: Path | None, n_sets: int | None, n_pe: int | None,
    plan_seed: int, size: str | None, device: str, progress: bool, model_seed: int | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Train ``method`` on the preset's data and score it on a test plan; the JSON-ready record.

    ``seed`` generates the data; ``model_seed`` (default: ``seed``) seeds the training, so the
    spread over training seeds can be measured on fixed data. ``client`` spreads the
    pseudo-experiments over a Dask cluster (training stays in this process).
    """
    spec = get_preset(preset)
    baseline = get_baseline("higgs-uncertainty", method)
    resolved = resolve_device(device)
    data = ensure_higgs_dataset(preset, seed, data_dir)
    plan = make_test_plan(n_sets or spec.n_sets, n_pe or spec.n_pseudo_experiments, initial_seed=plan_seed)
    model_seed = seed if model_seed is None else model_seed
    estimator = baseline.factory(size or preset, resolved, model_seed)
    console.print(f"[bold]{method}[/bold]: training on {len(data.train):,} events ({resolved}), "
                  f"then {len(plan)} pseudo-experiments")
    record = run_estimator(method, estimator, data, plan, device=resolved, progress=progress, client=client)
    record.update(size=size or preset, model_seed=model_seed)
    return record


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
    plan_seed: PlanSeedOption = 0,
    size: SizeOption = None,
    device: DeviceOption = "auto",
    model_seed: Annotated[Optional[list[int]], typer.Option(help="Seed of the training (default: --seed); repeat the option to train once per seed, in parallel on --scheduler.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for a study's rankings and plot.")] = Path("feature-ranking"),
    real: RealSubsetOption = None,
    geometry: GeometryOption = None,
    classifier: ClassifierOption = "small",
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Train a baseline, evaluate it on a test plan and print its score (or run a study).

    With one training seed the pseudo-experiments are spread over the scheduler's workers;
    with several, each worker trains and evaluates one seed. The JSON is the record, or for
    several seeds ``{"results": [...], "summary": ...}``.
    """
    require_baselines(challenge)
    if method == "feature-ranking" and challenge == "higgs-uncertainty":
        run_feature_ranking(preset, seed, data, size or preset, out, json_path, progress)
        return
    get_baseline(challenge, method)
    seeds = model_seed or [seed]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--model-seed values repeat: {seeds}")
    title = f"{challenge} / {preset}"
    if challenge == "calo":
        record, _ = run_calo_baseline(method, preset, seed, data, size, device, geometry or "ds1-photons",
                                      classifier, seeds[0])
        console.print(calo_metrics_table(title, [record]))
        write_json(json_path, record)
        return
    if challenge == "lhco":
        records = run_lhco_seeds([method], preset, seed, data, size, device, seeds, real, scheduler, workers, progress)
        console.print(lhco_metrics_table(title, records))
        write_json(json_path, records[0] if len(records) == 1 else
                   {"challenge": challenge, "method": method, "model_seeds": seeds, "results": records})
        return
    with dask_client(scheduler, workers) as client:
        if len(seeds) == 1:
            record = run_higgs_baseline(method, preset, seed, data, sets, pseudo_experiments, plan_seed, size, device,
                                        progress, seeds[0], client)
            console.print(metrics_table(f"{title}: {record['n_sets']} sets x {record['n_pseudo_experiments']} PE", [record]))
            write_json(json_path, record)
            return
        ensure_higgs_dataset(preset, seed, data)  # once, before the workers read it
        tasks = [(method, preset, seed, data, sets, pseudo_experiments, plan_seed, size, device, False, s) for s in seeds]
        records = map_tasks(run_higgs_baseline, tasks, client=client, progress=progress, description="trainings")
    for record in records:
        record["method"] = f"{method} (seed {record['model_seed']})"
    console.print(metrics_table(f"{title}: {records[0]['n_sets']} sets x {records[0]['n_pseudo_experiments']} PE", records))
    summary = seed_summary(records)
    console.print("over seeds: " + ", ".join(f"{k} {v['mean']:.3f} +- {v['std']:.3f}" for k, v in summary.items()))
    write_json(json_path, {"challenge": challenge, "method": method, "model_seeds": seeds, "summary": summary,
                           "results": records})


GeometryOption = Annotated[Optional[str], typer.Option("--geometry", help="calo: ds1-photons | ds1-pions | ds2 | ds3 (run: default ds1-photons; compare: every geometry of the preset).")]
ClassifierOption = Annotated[str, typer.Option("--classifier", help="calo: size of the evaluation classifiers: tiny | small | full (the anchor's 3 x 2048 MLP, 50 epochs).")]
RealSubsetOption = Annotated[Optional[Path], typer.Option("--real", help="lhco: run on the real high-level subset (folder of scalars_*.h5, e.g. ../shared/data/lhco2020/highlevel_subset) instead of generated data.")]


def run_lhco_seeds(methods: list[str], preset: str, seed: int, data: Path | None, size: str | None, device: str,
                   seeds: list[int], real: Path | None, scheduler: str, workers: int | None,
                   progress: bool, on_result: Any = None) -> list[dict[str, Any]]:
    """Every (method, training seed) pair on the same data, as tasks on ``scheduler``."""
    if real is None:
        ensure_lhco_dataset(preset, seed, data)  # once, before the workers read it
    tasks = [(m, preset, seed, data, size, device, s, real) for m in methods for s in seeds]
    with dask_client(scheduler if len(tasks) > 1 else "serial", workers) as client:
        return map_tasks(run_lhco_baseline, tasks, client=client, progress=progress, description="trainings",
                         on_result=on_result)


def seed_summary(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation (ddof = 1) over training seeds of the headline metrics."""
    import numpy as np

    summary = {}
    for key in ("coverage_score", "coverage", "width", "rmse", "mae", "auc"):
        values = np.array([r["metrics"][key] for r in records if key in r["metrics"]], dtype=float)
        if len(values):
            summary[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    return summary


def run_feature_ranking(preset: str, seed: int, data_dir: Path | None, size: str, out: Path,
                        json_path: Path | None, progress: bool) -> None:
    """Rank the features by every method; write rankings.json, rankings.md and auc_vs_n_features.png."""
    if size not in FEATURE_RANKING_SIZES:
        raise ValueError(f"size must be one of {sorted(FEATURE_RANKING_SIZES)}, got {size!r}")
    data = ensure_higgs_dataset(preset, seed, data_dir)
    notify = (lambda message: console.print(f"feature ranking: {message}")) if progress else None
    result = rank_features(data.train, data.test, FEATURE_RANKING_SIZES[size], seed=seed, progress=notify)
    result.update({"preset": preset, "data_seed": seed, "size": size})
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
    write_json(json_path, result)


def previous_results(path: Path, names: list[str], preset: str, seed: int, sets: int | None,
                     pseudo_experiments: int | None, plan_seed: int, size: str) -> list[dict[str, Any]]:
    """Records of ``names`` in a comparison JSON that were run on the same data, plan and size."""
    if not path.exists():
        return []
    try:
        results = json.loads(path.read_text())["results"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a comparison file ({err})") from err
    spec = get_preset(preset)
    wanted = {"preset": preset, "data_seed": seed, "plan_seed": plan_seed, "size": size, "model_seed": seed,
              "n_sets": sets or spec.n_sets, "n_pseudo_experiments": pseudo_experiments or spec.n_pseudo_experiments}
    # Records written before a field existed carry its default.
    defaults = {"size": preset, "model_seed": seed}
    return [r for r in results
            if r.get("method") in names and all(r.get(k, defaults.get(k)) == v for k, v in wanted.items())]


@baseline_app.command("compare")
@handles_errors
def compare(
    challenge: ChallengeArg,
    methods: Annotated[Optional[str], typer.Option(help="Comma-separated baselines (default: the comparison table's; 'all' for every one).")] = None,
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    data: DataDirOption = None,
    sets: SetsOption = None,
    pseudo_experiments: PseudoExperimentsOption = None,
    plan_seed: PlanSeedOption = 0,
    size: SizeOption = None,
    device: DeviceOption = "auto",
    markdown: Annotated[Optional[Path], typer.Option(help="Markdown file whose comparison section is (re)written, e.g. docs/results.md.")] = None,
    machine: Annotated[str, typer.Option(help="Machine description written above the table.")] = "unspecified machine",
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    resume: Annotated[bool, typer.Option(help="Keep the results already in --json that were run on the same data, plan and size; run only the missing methods.")] = False,
    model_seed: Annotated[Optional[list[int]], typer.Option(help="lhco: training seeds, repeat the option (default 0, 1, 2); the table gives the median and 16-84% range.")] = None,
    real: RealSubsetOption = None,
    geometry: GeometryOption = None,
    classifier: ClassifierOption = "small",
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Rerun every baseline on the same data (and test plan) and tabulate them."""
    import datetime
    import shlex
    import sys

    require_baselines(challenge)
    command = "hepbench " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a not in ("--resume", "--no-resume"))
    if challenge == "calo":
        names = list(BASELINES[challenge]) if methods in (None, "all") else [m.strip() for m in methods.split(",") if m.strip()]
        for name in names:
            get_baseline(challenge, name)
        compare_calo(names, preset, seed, data, size, device, geometry, classifier, scheduler, workers, progress,
                     markdown, machine, command, json_path)
        return
    if challenge == "lhco":
        if resume:
            raise ValueError("--resume is not available for lhco comparisons")
        names = list(BASELINES[challenge]) if methods in (None, "all") else [m.strip() for m in methods.split(",") if m.strip()]
        for name in names:
            get_baseline(challenge, name)
        compare_lhco(names, preset, seed, data, size, device, model_seed or [0, 1, 2], real, scheduler, workers,
                     progress, markdown, machine, command, json_path)
        return
    if model_seed or real:
        raise ValueError("--model-seed and --real apply to lhco comparisons; for higgs-uncertainty use "
                         "`baseline run --model-seed`")
    names = (list(COMPARISON_TABLE[challenge]) if methods is None
             else list(BASELINES[challenge]) if methods == "all" else [m.strip() for m in methods.split(",") if m.strip()])
    for name in names:
        get_baseline(challenge, name)
    records: list[dict[str, Any]] = []
    if resume:
        if json_path is None:
            raise ValueError("--resume needs --json: the file holding the results to keep")
        records = previous_results(json_path, names, preset, seed, sets, pseudo_experiments, plan_seed, size or preset)
        if records:
            console.print(f"kept {len(records)} results from {json_path}: {', '.join(r['method'] for r in records)}")
    done = {r["method"] for r in records}
    todo = [name for name in names if name not in done]

    def keep(record: dict[str, Any]) -> None:
        records.append(record)
        # Results so far are kept even if a later method fails or the run is interrupted.
        write_json(json_path, {"challenge": challenge, "results": sorted(records, key=lambda r: names.index(r["method"]))})

    def finished(_: int, record: dict[str, Any]) -> None:
        console.print(f"{record['method']}: coverage {record['metrics']['coverage']:.3f}, "
                      f"width {record['metrics']['width']:.3f}")
        keep(record)

    if todo:
        ensure_higgs_dataset(preset, seed, data)  # once, before the workers read it
        # Each baseline trains and evaluates in one worker: the unit of work is a whole method.
        tasks = [(name, preset, seed, data, sets, pseudo_experiments, plan_seed, size, device, False) for name in todo]
        with dask_client(scheduler if len(todo) > 1 else "serial", workers) as client:
            map_tasks(run_higgs_baseline, tasks, client=client, progress=progress, description="baselines",
                      on_result=finished)
    records.sort(key=lambda r: names.index(r["method"]))
    console.print(metrics_table(f"{challenge} / {preset}: {records[0]['n_sets']} sets x {records[0]['n_pseudo_experiments']} PE", records))
    if markdown is not None:
        # A resumed table is the one the same command gives in one go: --resume is left out.
        section = comparison_markdown(records, command=command, machine=machine, date=datetime.date.today().isoformat())
        console.print(f"wrote the comparison section of {write_section(markdown, section)}")


def compare_lhco(names: list[str], preset: str, seed: int, data: Path | None, size: str | None, device: str,
                 seeds: list[int], real: Path | None, scheduler: str, workers: int | None, progress: bool,
                 markdown: Path | None, machine: str, command: str, json_path: Path | None) -> None:
    """Every LHCO detector over training seeds on one data set; table, SIC plot, Markdown."""
    import datetime

    from ..challenges.lhco.comparison import comparison_markdown, plot_sic_curves, summarise
    from ..challenges.sections import write_section

    records: list[dict[str, Any]] = []

    def keep(_: int, record: dict[str, Any]) -> None:
        records.append(record)
        order = {(m, s): i for i, (m, s) in enumerate((m, s) for m in names for s in seeds)}
        records.sort(key=lambda r: order[(r["method"], r["model_seed"])])
        write_json(json_path, {"challenge": "lhco", "results": records})

    run_lhco_seeds(names, preset, seed, data, size, device, seeds, real, scheduler, workers, progress, keep)
    which = "real" if real is not None else "generated"
    console.print(lhco_metrics_table(f"lhco / {which} data", records))
    summary = summarise(records)
    for row in summary:
        console.print(f"{row['method']}: max SIC {row['max_sic_median']:.2f} "
                      f"[{row['max_sic_p16']:.2f}, {row['max_sic_p84']:.2f}], AUC {row['auc_median']:.3f}")
    write_json(json_path, {"challenge": "lhco", "summary": summary, "results": records})
    if markdown is not None:
        plot = plot_sic_curves(records, markdown.parent / "results" / f"lhco_sic_{which}.png",
                               f"LHCO, {which} data: median SIC over {len(seeds)} seeds")
        title = ("Real R&D events (public high-level subset)" if real is not None
                 else f"Generated R&D-like events (preset {preset})")
        section = comparison_markdown(records, name=f"comparison:lhco:{which}", title=title, command=command,
                                      machine=machine, date=datetime.date.today().isoformat(),
                                      plot=str(plot.relative_to(markdown.parent)))
        console.print(f"wrote the lhco {which} section of {write_section(markdown, section)} and {plot}")


def compare_calo(names: list[str], preset: str, seed: int, data: Path | None, size: str | None, device: str,
                 geometry: str | None, classifier: str, scheduler: str, workers: int | None, progress: bool,
                 markdown: Path | None, machine: str, command: str, json_path: Path | None) -> None:
    """Every generator on each geometry of the preset: metrics, multiclass scores, Markdown."""
    import datetime

    from ..challenges.calo.dataset import get_calo_preset
    from ..challenges.calo.run import multiclass_table
    from ..challenges.sections import write_section

    folder = ensure_calo_dataset(preset, seed, data)
    geometries = [geometry] if geometry else list(get_calo_preset(preset).showers)
    records: list[dict[str, Any]] = []
    multiclass_by_geometry: dict[str, dict[str, float]] = {}
    for geo in geometries:
        tasks = [(m, preset, seed, folder, size, device, geo, classifier) for m in names]
        with dask_client(scheduler if len(tasks) > 1 else "serial", workers) as client:
            done = map_tasks(run_calo_baseline, tasks, client=client, progress=progress, description=f"{geo} generators")
        multiclass = multiclass_table(folder, geo, {r["method"]: g for r, g in done}, classifier=classifier, seed=seed,
                                      device=resolve_device(device)) if len(done) > 1 else {}
        geo_records = [r for r, _ in done]
        for r in geo_records:
            if r["method"] in multiclass:
                r["metrics"]["multiclass_log_posterior"] = multiclass[r["method"]]
        records += geo_records
        multiclass_by_geometry[geo] = multiclass
        write_json(json_path, {"challenge": "calo", "results": records, "multiclass": multiclass_by_geometry})
        console.print(calo_metrics_table(f"calo / {geo}", geo_records))
        if markdown is not None:
            section = calo_markdown(geo_records, multiclass, geometry=geo, command=command, machine=machine,
                                    date=datetime.date.today().isoformat())
            console.print(f"wrote the calo {geo} section of {write_section(markdown, section)}")
