"""Bayesian optimisation of a baseline's hyperparameters (``hepbench baseline tune``).

A Gaussian-process surrogate (optuna's ``GPSampler``: Matern-5/2 kernel with automatic relevance
determination, log expected improvement maximised over the declared search space) proposes each
trial's hyperparameters from the trials already scored. A trial trains the baseline with those
overrides and returns the challenge's validation objective (``Challenge.validation_objective``:
never the test data). Trials run as tasks on Dask workers (``hepbench.parallel``); the driver
asks the sampler for a new point whenever a worker frees up and tells it each result.

Written to ``--out``: ``search.json`` (every trial's parameters, metrics and time, rewritten
after each one), ``best_config.json`` (reusable by ``hepbench baseline run --config``) and
``convergence.png`` (best-so-far objective against trial).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import __version__, challenges
from ..output import console, read_json, write_json
from .base import Param

SEARCH_FILE = "search.json"
CONFIG_FILE = "best_config.json"
PLOT_FILE = "convergence.png"
CONFIG_KIND = "hepbench-baseline-config"


def n_startup_trials(n_trials: int) -> int:
    """Trials drawn at random before the GP is fitted: a third of the budget, 2 to 10."""
    return max(2, min(10, n_trials // 3))


def distribution(param: Param) -> Any:
    """The optuna distribution of one declared hyperparameter."""
    import optuna

    if param.kind == "categorical":
        return optuna.distributions.CategoricalDistribution(list(param.choices))
    if param.kind == "int":
        return optuna.distributions.IntDistribution(int(param.low), int(param.high), log=param.log)
    return optuna.distributions.FloatDistribution(float(param.low), float(param.high), log=param.log)


def trial_task(
    challenge_id: str, method: str, params: dict[str, Any], options: dict[str, Any], number: int | None = None
) -> dict[str, Any]:
    """Trial ``number`` (None: the default configuration) on a worker: ``{"metrics", "seconds"}``,
    or ``{"error", "seconds"}`` when the configuration cannot be trained (the search goes on;
    the error is recorded)."""
    from ..challenges.base import objective_task

    start = time.perf_counter()
    try:
        return objective_task(challenge_id, method, params, options)
    except Exception as err:  # noqa: BLE001 - a diverging configuration fails its trial, not the search
        return {"error": f"{type(err).__name__}: {err}", "seconds": time.perf_counter() - start}


def best_so_far(values: list[float | None], higher_is_better: bool) -> list[float | None]:
    """Running best of the trial values in trial order (failed trials: None, carried over)."""
    out: list[float | None] = []
    best: float | None = None
    for value in values:
        if value is not None and (best is None or (value > best if higher_is_better else value < best)):
            best = value
        out.append(best)
    return out


def plot_convergence(search: Mapping[str, Any], path: Path) -> Path:
    """Best-so-far validation objective against trial number, each trial as a dot and the default
    configuration as a dashed line; PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objective = search["objective"]
    trials = search["trials"]
    numbers = [t["number"] for t in trials]
    values = [t.get("value") for t in trials]
    running = best_so_far(values, objective["higher_is_better"])
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(
        [n for n, v in zip(numbers, values) if v is not None],
        [v for v in values if v is not None],
        "o",
        color="0.6",
        label="trial",
    )
    ax.step(numbers, [float("nan") if v is None else v for v in running], where="post", label="best so far")
    default = (search.get("default") or {}).get("value")
    if default is not None:
        ax.axhline(default, linestyle="--", color="C3", label="default configuration")
    start = search["sampler"]["n_startup_trials"]
    ax.axvspan(-0.5, start - 0.5, color="0.92", label="random start")
    ax.set_xlabel("trial")
    ax.set_ylabel(
        f"validation {objective['name']} ({'higher' if objective['higher_is_better'] else 'lower'} is better)"
    )
    ax.set_title(f"{search['challenge']} / {search['method']}: GP Bayesian optimisation", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tune(
    challenge_id: str,
    method: str,
    *,
    n_trials: int = 20,
    preset: str = "small",
    seed: int = 0,
    data_dir: Path | None = None,
    size: str | None = None,
    device: str = "auto",
    model_seed: int | None = None,
    scheduler: str = "local",
    workers: int | None = None,
    out: Path = Path("tune"),
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Search ``method``'s declared hyperparameters for the best validation objective.

    ``n_trials`` GP-guided trials (the first :func:`n_startup_trials` at random) plus one run of
    the default configuration, spread over ``scheduler`` with up to ``workers`` at once;
    ``options`` are the challenge's options of its validation objective (e.g. HiggsML
    ``n_sets``, calo ``geometry``). Returns the search (as written to ``out/search.json``).
    """
    import optuna

    from ..parallel import dask_client, default_workers, run_adaptive

    if n_trials < 1:
        raise ValueError(f"--trials must be at least 1, got {n_trials}")
    spec = challenges.get(challenge_id)
    baseline = spec.baseline(method)
    if spec.tune_objective is None:
        raise ValueError(f"{spec.id} has no validation objective to tune on")
    if not baseline.search_space:
        tunable = sorted(name for name, b in spec.baselines().items() if b.search_space)
        raise ValueError(f"baseline {method!r} declares no search space; tunable {spec.id} baselines: {tunable}")
    objective = spec.tune_objective
    model_seed = seed if model_seed is None else model_seed
    # Data first, here: workers then only read it.
    folder = spec.data_dir(preset, seed, data_dir)
    if not spec.is_generated(folder):
        spec.ensure_data(preset, seed, folder)
    task_options = {
        "preset": preset,
        "seed": seed,
        "data_dir": folder,
        "size": size,
        "device": device,
        "model_seed": model_seed,
        **(options or {}),
    }
    start_sampler = n_startup_trials(n_trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if objective.higher_is_better else "minimize",
        sampler=optuna.samplers.GPSampler(seed=seed, n_startup_trials=start_sampler),
    )
    space = {name: distribution(param) for name, param in baseline.search_space.items()}
    search: dict[str, Any] = {
        "kind": "hepbench-tune-search",
        "hepbench_version": __version__,
        "challenge": spec.id,
        "method": method,
        "preset": preset,
        "data_seed": seed,
        "size": spec.model_size(preset, size),
        "model_seed": model_seed,
        "device": device,
        "options": {k: v for k, v in (options or {}).items()},
        "objective": {
            "name": objective.name,
            "higher_is_better": objective.higher_is_better,
            "description": objective.description,
        },
        "search_space": {name: asdict(param) for name, param in baseline.search_space.items()},
        "sampler": {
            "name": "optuna.samplers.GPSampler",
            "optuna_version": optuna.__version__,
            "seed": seed,
            "n_startup_trials": start_sampler,
        },
        "n_trials": n_trials,
        "scheduler": scheduler,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "default": None,
        "trials": [],
        "best": None,
    }
    out = Path(out)
    pending: dict[int, Any] = {}
    asked = {"default": False, "n": 0}

    def next_task() -> tuple[Any, ...] | None:
        if not asked["default"]:
            asked["default"] = True
            return (spec.id, method, {}, task_options, None)
        if asked["n"] >= n_trials:
            return None
        trial = study.ask(space)
        pending[trial.number] = trial
        asked["n"] += 1
        return (spec.id, method, dict(trial.params), task_options, trial.number)

    with (
        dask_client(scheduler, workers) as client,
        _progress(progress, n_trials + 1) as (bar, job),
    ):
        in_flight = 1 if client is None else max(1, len(client.scheduler_info()["workers"]) or default_workers())

        def on_result(task_args: tuple[Any, ...], result: dict[str, Any]) -> None:
            number = task_args[4]
            value = None if "error" in result else float(result["metrics"][objective.name])
            row = {
                "params": task_args[2],
                "value": value,
                "metrics": result.get("metrics"),
                "seconds": result["seconds"],
                "state": "failed" if "error" in result else "complete",
            }
            if "error" in result:
                row["error"] = result["error"]
            if number is None:
                search["default"] = row
                label = "default"
            else:
                trial = pending.pop(number)
                if value is None:
                    # The GP ignores failed trials and would keep proposing the failing region;
                    # told the worst value seen so far, it learns to leave it.
                    seen = [
                        t["value"] for t in [search["default"] or {}, *search["trials"]] if t.get("value") is not None
                    ]
                    if seen:
                        row["told"] = min(seen) if objective.higher_is_better else max(seen)
                        study.tell(trial, row["told"])
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)
                search["trials"].append({"number": number, **row})
                search["trials"].sort(key=lambda t: t["number"])
                label = f"trial {number}"
            complete = [t for t in search["trials"] if t["value"] is not None]
            if complete:
                pick = max if objective.higher_is_better else min
                best = pick(complete, key=lambda t: t["value"])
                search["best"] = {k: best[k] for k in ("number", "params", "value", "metrics")}
            write_json(out / SEARCH_FILE, search, quiet=True)
            shown = ", ".join(f"{k}={_short(v)}" for k, v in task_args[2].items()) or "size defaults"
            outcome = f"[red]failed[/red] {row.get('error', '')}" if value is None else f"{objective.name} {value:.4g}"
            best_text = f"; best {search['best']['value']:.4g}" if search["best"] else ""
            bar.console.print(f"{label}: {outcome} ({result['seconds']:.0f} s) [dim]{shown}[/dim]{best_text}")
            bar.advance(job)

        run_adaptive(trial_task, next_task, on_result, client=client, in_flight=in_flight)
    search["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if search["best"] is None:
        first = next((t["error"] for t in search["trials"] if "error" in t), "no trial finished")
        write_json(out / SEARCH_FILE, search, quiet=True)
        raise RuntimeError(f"every trial failed; the first: {first}")
    write_json(out / SEARCH_FILE, search, quiet=True)
    write_json(out / CONFIG_FILE, best_config(search), quiet=True)
    plot_convergence(search, out / PLOT_FILE)
    return search


def best_config(search: Mapping[str, Any]) -> dict[str, Any]:
    """The best configuration of a search, as ``hepbench baseline run --config`` reads it."""
    default = search.get("default") or {}
    return {
        "kind": CONFIG_KIND,
        "hepbench_version": search["hepbench_version"],
        "challenge": search["challenge"],
        "method": search["method"],
        "size": search["size"],
        "params": search["best"]["params"],
        "objective": search["objective"],
        "validation_value": search["best"]["value"],
        "default_validation_value": default.get("value"),
        "trial": search["best"]["number"],
        "search": {
            "preset": search["preset"],
            "data_seed": search["data_seed"],
            "model_seed": search["model_seed"],
            "n_trials": search["n_trials"],
            "sampler": search["sampler"],
            "finished": search.get("finished"),
        },
    }


def read_config(path: Path, challenge_id: str, method: str) -> tuple[str | None, dict[str, Any]]:
    """(size, hyperparameters) of a ``best_config.json`` (or a ``search.json``'s best), the
    hyperparameters checked against ``method``'s search space; errors name the file and field.
    ``size`` is the configuration the search started from (None when the file names none)."""
    payload = read_json(path)
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object with a field params")
    if payload.get("kind") == "hepbench-tune-search":
        if not payload.get("best"):
            raise ValueError(f"{path}: field best is empty (the search has no finished trial)")
        payload = best_config(payload)
    for field, want in (("challenge", challenge_id), ("method", method)):
        if payload.get(field) is not None and payload[field] != want:
            raise ValueError(f"{path}: field {field} is {payload[field]!r}, not {want!r}")
    params = payload.get("params")
    if not isinstance(params, dict):
        raise ValueError(f"{path}: field params must be an object of hyperparameter -> value")
    size = payload.get("size")
    if size is not None and not isinstance(size, str):
        raise ValueError(f"{path}: field size must be a string such as 'small'")
    return size, challenges.get(challenge_id).baseline(method).check_params(params, where=f"{path}: field params")


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class _progress:
    """A rich progress bar over the trials (or a silent stand-in), as ``(bar, task id)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self.total = total

    def __enter__(self) -> tuple[Any, Any]:
        self.bar.__enter__()
        return self.bar, self.bar.add_task("trials", total=self.total)

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)
