"""The comparison table of HiggsML Uncertainty baselines, as Markdown for ``docs/results.md``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...scoring.intervals import CONFIDENCE_LEVEL, interval_calibration, sigma68
from ..sections import section_markers, write_section  # noqa: F401  (write_section: re-exported)


def section_name(preset: str) -> str:
    """The marked section of a comparison on ``preset``: one per preset, so that a `full` run
    does not replace the `small` table."""
    return f"comparison:higgs-uncertainty:{preset}"


# Systematics-aware classifiers and the nominally trained one each is compared with.
SYSTEMATICS_AWARE: dict[str, str] = {
    "bdt-augmented": "bdt",
    "nn-augmented": "nn-deep-all",
    "nn-parameterised": "nn-deep-all",
    "nn-adversarial": "nn-deep-all",
}


def _in_band(coverage: float, n: int) -> bool:
    s = sigma68(n)
    return CONFIDENCE_LEVEL - 2 * s <= coverage <= CONFIDENCE_LEVEL + 2 * s


def paired_width_ratio(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    """Mean width of ``a`` over that of ``b`` and its standard error, pairing the two methods'
    intervals on the same pseudo-experiments (delta method); s.e. is NaN without the rows."""
    ratio = a["metrics"]["width"] / b["metrics"]["width"]
    rows_a, rows_b = a.get("pseudo_experiments"), b.get("pseudo_experiments")
    if not rows_a or not rows_b or len(rows_a) != len(rows_b):
        return ratio, float("nan")
    w_a = np.array([r["p84"] - r["p16"] for r in rows_a], dtype=float)
    w_b = np.array([r["p84"] - r["p16"] for r in rows_b], dtype=float)
    ok = np.isfinite(w_a) & np.isfinite(w_b)
    if ok.sum() < 2:
        return ratio, float("nan")
    w_a, w_b = w_a[ok], w_b[ok]
    r = w_a.mean() / w_b.mean()
    return float(r), float(np.std(w_a - r * w_b, ddof=1) / np.sqrt(ok.sum()) / w_b.mean())


def calibration(record: dict[str, Any]) -> dict[str, float | int] | None:
    """:func:`~hepbench.scoring.intervals.interval_calibration` of a record's answered
    pseudo-experiments (failed ones have no interval of their own); None without two of them."""
    rows = [r for r in record.get("pseudo_experiments") or () if r.get("status", "ok") == "ok"]
    if len(rows) < 2:
        return None
    column = {k: np.array([r[k] for r in rows]) for k in ("mu_true", "mu_hat", "p16", "p84", "set_index")}
    return interval_calibration(**column)


def comparison_markdown(records: list[dict[str, Any]], *, command: str, machine: str, date: str) -> str:
    """Markdown section: one row per method, then systematics-aware versus nominal training."""
    if not records:
        raise ValueError("no results to tabulate")
    n = records[0]["n_sets"] * records[0]["n_pseudo_experiments"]
    s = sigma68(n)
    begin, end = section_markers(section_name(records[0]["preset"]))
    lines = [
        begin,
        f"### Every baseline on one test plan: {records[0]['preset']} preset, "
        f"{records[0]['n_sets']} sets x {records[0]['n_pseudo_experiments']} pseudo-experiments",
        "",
        "```bash",
        command,
        "```",
        "",
        f"{machine}; {date}; data seed {records[0]['data_seed']}, plan seed {records[0]['plan_seed']}. "
        f"Coverage band 0.6827 +- 2 sigma68 = [{CONFIDENCE_LEVEL - 2 * s:.3f}, {CONFIDENCE_LEVEL + 2 * s:.3f}] "
        f"(N = {n}). AUC and AMS (b_r = 10) on the nominal test split; AMS at the preset's luminosity.",
        "",
        "| method | coverage score | coverage | in band | mean width | RMSE | MAE | AUC | AMS | failed | train s | s / PE | device |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        m = r["metrics"]
        lines.append(
            f"| {r['method']} | {m['coverage_score']:.3f} | {m['coverage']:.3f} | "
            f"{'yes' if _in_band(m['coverage'], n) else '**no**'} | {m['width']:.3f} | {m['rmse']:.3f} | "
            f"{m['mae']:.3f} | {m.get('auc', float('nan')):.3f} | {m.get('ams', float('nan')):.2f} | "
            f"{m['n_failed']} | {r['train_seconds']:.0f} | {r['predict_seconds_mean']:.2f} | {r['device']} |"
        )
    by_name = {r["method"]: r for r in records}
    pairs = []
    for aware, nominal in SYSTEMATICS_AWARE.items():
        a, b = by_name.get(f"{aware}-template-fit"), by_name.get(f"{nominal}-template-fit")
        if a and b:
            pairs.append((a, b))
    if pairs:
        lines += [
            "",
            "Systematics-aware training against nominal training (template fit for both):",
            "",
            "| classifier | nominal counterpart | width | nominal width | width ratio (+- s.e., paired) | coverage | nominal coverage |",
            "|---|---|---|---|---|---|---|",
        ]
        for a, b in pairs:
            ma, mb = a["metrics"], b["metrics"]
            ratio, error = paired_width_ratio(a, b)
            lines.append(
                f"| {a['method']} | {b['method']} | {ma['width']:.3f} | {mb['width']:.3f} | "
                f"{ratio:.3f}{f' +- {error:.3f}' if np.isfinite(error) else ''} | {ma['coverage']:.3f} | {mb['coverage']:.3f} |"
            )
    calibrated = [(r["method"], c) for r in records if (c := calibration(r)) is not None]
    if calibrated:
        lines += [
            "",
            "How each method's intervals miss (answered pseudo-experiments; offset = mean of mu_hat - mu_true "
            "+- its standard error, scatter = sd of mu_hat - mu_true, pull = (mu_hat - mu_true) / the interval's half "
            "on the side of mu_true, sd 1.00 for calibrated intervals):",
            "",
            "| method | offset | coverage without it | scatter | half-width / scatter | pull sd "
            "| mu_hat vs mu_true | coverage per set |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for method, c in calibrated:
            lines.append(
                f"| {method} | {c['offset']:+.3f} +- {c['offset_error']:.3f} | {c['coverage_offset_removed']:.3f} | "
                f"{c['scatter']:.3f} | {c['half_width_over_scatter']:.2f} | {c['pull_std']:.3f} | "
                f"{c['response_slope']:.3f} mu {c['response_intercept']:+.3f} | "
                f"{c['set_coverage_min']:.2f} to {c['set_coverage_max']:.2f} |"
            )
    not_covering = [r["method"] for r in records if not _in_band(r["metrics"]["coverage"], n)]
    lines += [
        "",
        "Outside the coverage band: " + (", ".join(not_covering) if not_covering else "none") + ".",
        end,
    ]
    return "\n".join(lines) + "\n"


def metrics_table(title: str, records: list[dict[str, Any]]) -> Any:
    """Rich table of HiggsML Uncertainty results, one row per method."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("method", "score", "coverage", "width", "RMSE", "MAE", "AUC", "AMS", "failed", "train s", "s/PE"):
        table.add_column(column, justify="right", no_wrap=(column == "method"))
    for r in records:
        m = r["metrics"]
        table.add_row(
            r["method"],
            f"{m['coverage_score']:.3f}",
            f"{m['coverage']:.3f}",
            f"{m['width']:.3f}",
            f"{m['rmse']:.3f}",
            f"{m['mae']:.3f}",
            f"{m.get('auc', float('nan')):.3f}",
            f"{m.get('ams', float('nan')):.2f}",
            str(m["n_failed"]),
            f"{r['train_seconds']:.0f}",
            f"{r['predict_seconds_mean']:.2f}",
        )
    return table


def previous_results(
    path: Any,
    preset: str,
    seed: int,
    sets: int | None,
    pseudo_experiments: int | None,
    plan_seed: int,
    size: str,
    generator_version: str | None = None,
) -> list[dict[str, Any]]:
    """Records (any method) in a comparison JSON that were run on the same data (seed and
    generator version), plan and size."""
    from ..resume import kept_results
    from .presets import get_preset

    spec = get_preset(preset)
    wanted = {
        "preset": preset,
        "data_seed": seed,
        "plan_seed": plan_seed,
        "size": size,
        "model_seed": seed,
        "n_sets": sets or spec.n_sets,
        "n_pseudo_experiments": pseudo_experiments or spec.n_pseudo_experiments,
        "generator_version": generator_version,
    }
    # Records written before a field existed carry its default.
    return kept_results(path, wanted, defaults={"size": preset, "model_seed": seed})


def compare(
    challenge: Any,
    names: list[str],
    *,
    preset: str,
    seed: int,
    data: Any,
    size: str | None,
    device: str,
    scheduler: str,
    workers: int | None,
    resume: bool,
    progress: bool,
    markdown: Any,
    machine: str,
    command: str,
    date: str,
    json_path: Any,
    sets: int | None = None,
    pseudo_experiments: int | None = None,
    plan_seed: int = 0,
    **options: Any,
) -> list[dict[str, Any]]:
    """Every baseline of ``names`` on the same data and test plan, one baseline per worker;
    results are written to ``json_path`` as they finish (``resume`` keeps those already there)."""
    from ...checkpoints import beside, remove_empty_folders
    from ...output import console, write_json
    from ...parallel import dask_client, map_tasks
    from ..base import check_options, run_task
    from ..resume import split_resumed

    if options.get("model_seeds") or options.get("real"):
        raise ValueError(
            "--model-seed and --real apply to lhco comparisons; for higgs-uncertainty use `baseline run --model-seed`"
        )
    check_options(challenge, options, ())
    records: list[dict[str, Any]] = []
    # Results on the same data and plan of methods this run does not name stay in the file and table.
    carried: list[dict[str, Any]] = []
    methods = list(names)
    # Once, before the workers read it (and before --resume reads its generator version).
    challenge.ensure_data(preset, seed, data)
    if resume:
        version = challenge.data_generator_version(challenge.data_dir(preset, seed, data))
        same_data = previous_results(
            json_path, preset, seed, sets, pseudo_experiments, plan_seed, challenge.model_size(preset, size), version
        )
        records, carried = split_resumed(same_data, lambda r: r["method"] in names, json_path, lambda r: r["method"])
        # The file's order first (a resumed file keeps its rows in place), then this run's.
        methods = list(dict.fromkeys([r["method"] for r in same_data] + names))
    done = {r["method"] for r in records}
    todo = [name for name in names if name not in done]

    def keep(record: dict[str, Any]) -> None:
        records.append(record)
        # Results so far are kept even if a later method fails or the run is interrupted.
        ordered = sorted(carried + records, key=lambda r: methods.index(r["method"]))
        write_json(json_path, {"challenge": challenge.id, "results": ordered})

    def finished(_: int, record: dict[str, Any]) -> None:
        console.print(
            f"{record['method']}: coverage {record['metrics']['coverage']:.3f}, width {record['metrics']['width']:.3f}"
        )
        keep(record)

    if todo:
        options = {
            "preset": preset,
            "seed": seed,
            "data_dir": data,
            "n_sets": sets,
            "plan_seed": plan_seed,
            "n_pseudo_experiments": pseudo_experiments,
            "size": size,
            "device": device,
            "progress": False,
        }

        def method_options(name: str) -> dict[str, Any]:
            # Beside the JSON, each method keeps its model and answers as they arrive, so an
            # interrupted comparison resumes inside a method, not only between methods.
            folder = beside(json_path)
            return options if folder is None else {**options, "checkpoint": folder / name, "resume": resume}

        if len(todo) == 1:
            # One method left: it trains here and spreads its pseudo-experiments over the workers.
            finished(
                0,
                run_task(
                    challenge.id,
                    todo[0],
                    {**method_options(todo[0]), "progress": progress, "scheduler": scheduler, "workers": workers},
                ),
            )
        else:
            # Each baseline trains and evaluates in one worker: the unit of work is a whole method.
            tasks = [(challenge.id, name, method_options(name)) for name in todo]
            with dask_client(scheduler, workers) as client:
                map_tasks(
                    run_task, tasks, client=client, progress=progress, description="baselines", on_result=finished
                )
    remove_empty_folders(beside(json_path))
    records = sorted(carried + records, key=lambda r: methods.index(r["method"]))
    console.print(
        metrics_table(
            f"{challenge.id} / {preset}: {records[0]['n_sets']} sets x {records[0]['n_pseudo_experiments']} PE", records
        )
    )
    if markdown is not None:
        # A resumed table is the one the same command gives in one go: --resume is left out.
        section = comparison_markdown(records, command=command, machine=machine, date=date)
        console.print(f"wrote the comparison section of {write_section(markdown, section)}")
    return records
