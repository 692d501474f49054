"""HiggsML Uncertainty as a :class:`~hepbench.challenges.base.Challenge`: data, baselines,
submissions and the one scorer of answers (coverage score, width, coverage, RMSE, MAE)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...output import read_json
from ...records import Score, finite
from ..base import Challenge, MetricColumn, RankingMetric, RecordError, check_options
from .presets import PRESETS

if TYPE_CHECKING:
    from .pseudo_experiments import TestPlan

PLAN_FILE = "plan.json"
ANSWERS_FILE = "answers.json"
PE_KEYS = ("set_index", "mu_true", "p16", "p84")
# Metrics a run record reports about its own run (not recomputable from the answers).
REPORTED = ("auc", "ams", "train_seconds", "predict_seconds_mean")
MAX_BOOTSTRAP = 100_000
"""Most bootstrap resamples of the coverage score's error (each holds every pseudo-experiment's index)."""
SUMMARY_METRICS = ("coverage_score", "width", "coverage", "rmse", "mae", "n_failed", "n_pseudo_experiments")


class HiggsUncertainty(Challenge):
    id = "higgs-uncertainty"
    title = "HiggsML Uncertainty"
    presets = tuple(PRESETS)
    model_sizes = {name: p.model_size for name, p in PRESETS.items() if p.model_size}
    description = (
        "Measure the H->tautau signal strength mu with a 68.27% interval in pseudo-experiments "
        "with six systematic uncertainties."
    )
    metric_notes = (
        "A submission answers every pseudo-experiment of the phase's test sets with mu_hat and a "
        "68.27% interval [p16, p84]. The coverage score rewards narrow intervals that cover the true mu "
        "in 68.27% of the pseudo-experiments and penalises over- and under-coverage; equal scores are "
        "ordered by the mean interval width, then by the MAE. Errors are one standard deviation of the "
        "bootstrap over sets."
    )
    ranking = (
        RankingMetric("coverage_score", True, "-ln((width + 1e-3) * f(coverage))", "coverage score"),
        RankingMetric("width", False, "mean interval width"),
        RankingMetric("mae", False, "mean absolute error plus interval mismatch", "MAE"),
    )
    columns = (
        MetricColumn("coverage", "coverage"),
        MetricColumn("rmse", "RMSE"),
        MetricColumn("auc", "AUC"),
        MetricColumn("ams", "AMS", ".2f"),
        MetricColumn("n_failed", "failed PE", "d"),
        MetricColumn("train_seconds", "train s", ".0f"),
        MetricColumn("predict_seconds_mean", "s / PE", ".2f"),
    )
    sandbox_modules = tuple(
        f"hepbench.challenges.higgs_uncertainty.{name}"
        for name in ("schema", "derived", "systematics", "fair_universe")
    )
    """The FAIR Universe kit adapter of the entrypoint and the systematics it hands to kit models."""
    input_options = ("preset", "seed", "n_sets", "n_pseudo_experiments", "plan_seed", "train_events", "data_dir")
    baseline_registry = "hepbench.baselines.higgs_uncertainty.registry:BASELINES"
    validate_options = {"preset": "tiny", "n_sets": 1, "n_pseudo_experiments": 2, "train_events": 20_000}
    score_options = ("n_bootstrap",)
    summary_metrics = ("coverage_score", "coverage", "width", "rmse", "mae", "auc")
    tune_objective = RankingMetric(
        "coverage_score",
        True,
        "coverage score on validation pseudo-experiments drawn from 30% of the training split",
        "validation coverage score",
    )

    # -- data -----------------------------------------------------------------------------------
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None, **options: Any) -> dict[str, Any]:
        check_options(self, options, ())
        from .dataset import generate_dataset
        from .presets import get_preset
        from .pseudo_experiments import make_test_plan

        spec = get_preset(preset)
        data = generate_dataset(preset, seed, out, client=client)
        plan = make_test_plan(spec.n_sets, spec.n_pseudo_experiments, initial_seed=seed)
        plan.to_json(Path(out) / "test_plan.json")
        summary: dict[str, Any] = {"files": {}}
        for split, frame in (("train", data.train), ("test", data.test)):
            grouped = frame.groupby("detailed_labels", observed=True)["weights"]
            summary[split] = {"events": grouped.size().to_dict(), "sum_weights": grouped.sum().to_dict()}
            for process, n in grouped.size().items():
                summary["files"][f"{split} / {process}"] = {
                    "events": int(n),
                    "sum of weights": float(summary[split]["sum_weights"][process]),
                }
        summary["test_plan"] = {
            "n_sets": plan.n_sets,
            "n_pseudo_experiments": plan.n_pseudo_experiments,
            "path": Path(out) / "test_plan.json",
        }
        return summary

    def load(self, folder: Path) -> Any:
        from .dataset import load_dataset

        return load_dataset(folder)

    def is_generated(self, folder: Path) -> bool:
        return (Path(folder) / "train.parquet").exists()

    def ensure_data(self, preset: str, seed: int, data_dir: Path | None = None, **options: Any) -> Any:
        data = super().ensure_data(preset, seed, data_dir)
        if data.preset != "official" and (data.preset, data.seed) != (preset, seed):
            raise ValueError(f"{data_dir} holds preset {data.preset!r} seed {data.seed}, not {preset!r} seed {seed}")
        return data

    import_options = ("seed", "test_fraction", "luminosity_fb", "max_events")

    official_importer = "hepbench.challenges.higgs_uncertainty.official:import_fair_universe"
    unbinned_export = "hepbench.challenges.higgs_uncertainty.unbinned:unbinned_sets"

    def validate_data(
        self, real: Path | None, out: Path, *, seed: int = 1, events_per_process: int = 200_000, **options: Any
    ) -> dict[str, Any]:
        from ...output import console
        from ...reference_data import path as reference_path
        from .generator import generate_events
        from .schema import PROCESSES
        from .validation import validate_higgs_uncertainty

        real = Path(real) if real is not None else reference_path("higgsml2014-csv")
        if not real.exists():
            raise FileNotFoundError(f"{real}: real data file not found (pass --real PATH)")
        with console.status("generating events to compare", spinner="dots"):
            generated = generate_events({p: events_per_process for p in PROCESSES}, seed=seed)
        table, two_sample = validate_higgs_uncertainty(real, generated, out)
        return {
            "real": real,
            "rows": table.to_dict(orient="records"),
            "two_sample": two_sample.to_dict(orient="records"),
            "columns": ["feature", "class", "w1_std", "ks", "mean_real", "mean_gen"],
        }

    # -- baselines ------------------------------------------------------------------------------
    def studies(self) -> dict[str, str]:
        from ...baselines.higgs_uncertainty.registry import STUDIES

        return dict(STUDIES)

    def comparison_methods(self) -> tuple[str, ...]:
        from ...baselines.higgs_uncertainty.registry import COMPARISON_TABLE

        return COMPARISON_TABLE

    def run_baseline(
        self,
        method: str,
        *,
        preset: str = "small",
        seed: int = 0,
        data_dir: Path | None = None,
        size: str | None = None,
        device: str = "auto",
        model_seed: int | None = None,
        progress: bool = True,
        scheduler: str = "serial",
        workers: int | None = None,
        client: Any = None,
        n_sets: int | None = None,
        n_pseudo_experiments: int | None = None,
        plan_seed: int = 0,
        params: Mapping[str, Any] | None = None,
        checkpoint: Path | None = None,
        resume: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Train ``method`` (hyperparameter overrides ``params``, e.g. a tuned configuration) on the
        preset's data and score it on a test plan (seed ``plan_seed``); the pseudo-experiments are
        spread over ``scheduler`` (or ``client``; training stays here).

        ``checkpoint`` is a folder keeping the trained model and each answer as it arrives;
        ``resume`` continues the stopped run it holds (same options), and the folder is
        removed once the record is complete."""
        if client is None and scheduler != "serial":
            from ...parallel import dask_client

            # The cluster first: a bad --scheduler is reported before any data are read.
            with dask_client(scheduler, workers) as client:
                return self.run_baseline(
                    method,
                    preset=preset,
                    seed=seed,
                    data_dir=data_dir,
                    size=size,
                    device=device,
                    model_seed=model_seed,
                    progress=progress,
                    client=client,
                    n_sets=n_sets,
                    n_pseudo_experiments=n_pseudo_experiments,
                    plan_seed=plan_seed,
                    params=params,
                    checkpoint=checkpoint,
                    resume=resume,
                    **options,
                )
        from ...output import console
        from ...torch_common import resolve_device
        from .presets import get_preset
        from .pseudo_experiments import make_test_plan
        from .run import RunCheckpoint, run_estimator

        check_options(self, options, ())
        spec = get_preset(preset)
        baseline = self.baseline(method)
        overrides = baseline.check_params(params or {})
        resolved = resolve_device(device)
        data = self.ensure_data(preset, seed, data_dir)
        plan = make_test_plan(
            n_sets or spec.n_sets, n_pseudo_experiments or spec.n_pseudo_experiments, initial_seed=plan_seed
        )
        model_seed = seed if model_seed is None else model_seed
        size = self.model_size(preset, size)
        estimator = baseline.factory(size, resolved, model_seed, **overrides)
        generator_version = self.data_generator_version(self.data_dir(preset, seed, data_dir))
        kept = None
        if checkpoint is not None:
            identity = {
                "method": method,
                "preset": preset,
                "data_seed": seed,
                "generator_version": generator_version,
                "size": size,
                "model_seed": model_seed,
                "params": dict(overrides),
                "device": resolved,
                "plan_seed": plan.initial_seed,
                "n_sets": plan.n_sets,
                "n_pseudo_experiments": plan.n_pseudo_experiments,
            }
            kept = RunCheckpoint(checkpoint, identity, resume=resume)
        elif resume:
            raise ValueError("--resume needs --checkpoint: the folder holding the stopped run")
        if kept is not None and (kept.folder / "estimator.pkl").exists():
            console.print(f"[bold]{method}[/bold]: continuing the stopped run in {kept.folder} (no retraining)")
        else:
            console.print(
                f"[bold]{method}[/bold]: training on {len(data.train):,} events ({resolved}), "
                f"then {len(plan)} pseudo-experiments"
            )
        record = run_estimator(
            method, estimator, data, plan, device=resolved, progress=progress, client=client, checkpoint=kept
        )
        record.update(size=size, model_seed=model_seed, generator_version=generator_version)
        if overrides:
            record["params"] = overrides
        if kept is not None:
            kept.remove()
        return record

    def validation_objective(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        preset: str = "small",
        seed: int = 0,
        data_dir: Path | None = None,
        size: str | None = None,
        device: str = "auto",
        model_seed: int | None = None,
        n_sets: int | None = None,
        n_pseudo_experiments: int | None = None,
        **options: Any,
    ) -> dict[str, float]:
        """The coverage score of ``method`` on validation pseudo-experiments (``n_sets`` x
        ``n_pseudo_experiments``, default the preset's plan) from 30% of the training split."""
        from ...torch_common import resolve_device
        from .presets import get_preset
        from .tuning import read_train_split, validation_metrics

        check_options(self, options, ())
        spec = get_preset(preset)
        baseline = self.baseline(method)
        overrides = baseline.check_params(params)
        folder = self.data_dir(preset, seed, data_dir)
        if not self.is_generated(folder):
            self.ensure_data(preset, seed, folder)
        estimator = baseline.factory(
            self.model_size(preset, size),
            resolve_device(device),
            seed if model_seed is None else model_seed,
            **overrides,
        )
        return validation_metrics(
            estimator,
            read_train_split(folder, preset, seed),
            n_sets=n_sets or spec.n_sets,
            n_pseudo_experiments=n_pseudo_experiments or spec.n_pseudo_experiments,
            seed=seed,
        )

    demo_hidden = ("pseudo_experiments",)

    def demo_options(self, preset: str, seed: int, **overrides: Any) -> tuple[dict[str, Any], str]:
        sets, pes = overrides.get("n_sets") or 5, overrides.get("n_pseudo_experiments") or 20
        return (
            {"n_sets": sets, "n_pseudo_experiments": pes, "plan_seed": seed, "size": preset},
            f"{preset}, {sets} sets x {pes} PE",
        )

    def run_study(
        self, name: str, *, preset: str, seed: int, data_dir: Path | None, size: str, out: Path, progress: bool
    ) -> dict[str, Any]:
        from .studies import STUDY_RUNNERS

        if name not in STUDY_RUNNERS:
            return super().run_study(
                name, preset=preset, seed=seed, data_dir=data_dir, size=size, out=out, progress=progress
            )
        return STUDY_RUNNERS[name](self.ensure_data(preset, seed, data_dir), preset, seed, size, out, progress)

    def compare(self, names: list[str], **options: Any) -> list[dict[str, Any]]:
        from .comparison import compare

        return compare(self, names, **options)

    # -- submissions ----------------------------------------------------------------------------
    def write_inputs(self, input_dir: Path, organiser_dir: Path, **options: Any) -> dict[str, Any]:
        from .submission import write_inputs

        return write_inputs(input_dir, organiser_dir, **options)

    def check_truth(self, truth: Path) -> None:
        """The test plan JSON (or an organiser folder holding ``plan.json``) must load."""
        _read_plan(truth / "plan.json" if truth.is_dir() else truth)

    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> Any:
        from .submission import read_and_validate_outputs

        return read_and_validate_outputs(output_dir, organiser_dir)

    def describe_outputs(self, outputs: Any) -> str:
        return f"{len(outputs)} answers, schema valid"

    def score(self, outputs: Path, truth: Path | None, *, n_bootstrap: int = 1000, **options: Any) -> Score:
        """Answers (``answers.json`` in an output folder, or a CSV / JSON file) against the test
        plan (``plan.json`` in an organiser folder, or a plan file). Without a plan the rows must
        carry ``mu_true`` (a baseline run record's ``pseudo_experiments``)."""
        import pandas as pd

        from .answers import join_answers, read_answers
        from .harness import score_results

        check_options(self, options, self.score_options)
        if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or not 0 <= n_bootstrap <= MAX_BOOTSTRAP:
            raise ValueError(f"option n_bootstrap: a whole number from 0 to {MAX_BOOTSTRAP:,}, got {n_bootstrap!r}")
        outputs, truth = Path(outputs), None if truth is None else Path(truth)
        answers_path = outputs / ANSWERS_FILE if outputs.is_dir() else outputs
        if truth is not None:
            plan_path = truth / PLAN_FILE if truth.is_dir() else truth
            if not plan_path.exists():
                raise FileNotFoundError(f"{plan_path}: test plan not found")
            rows = join_answers(_read_plan(plan_path), read_answers(answers_path))
        else:
            payload = read_json(answers_path) if answers_path.suffix == ".json" else None
            if not (isinstance(payload, dict) and payload.get("pseudo_experiments")):
                raise ValueError(f"{answers_path}: answers need the test plan they answer (its hidden truth)")
            rows = pd.DataFrame(payload["pseudo_experiments"])
            if "status" not in rows:
                rows["status"] = "ok"
            for key in ("mu_hat", "delta_mu_hat"):
                if key not in rows:
                    raise RecordError(f"{answers_path}: field pseudo_experiments[0].{key} is missing")
        metrics = score_results(rows, n_bootstrap=n_bootstrap)
        bootstrap = metrics.get("bootstrap") or {}
        errors = {k: finite(v.get("std")) for k, v in bootstrap.items() if isinstance(v, dict)}
        failed = rows.loc[rows["status"] != "ok"]
        keep = [
            c
            for c in (
                "set_index",
                "pe_index",
                "seed",
                "mu_true",
                "mu_hat",
                "delta_mu_hat",
                "p16",
                "p84",
                "status",
                "message",
            )
            if c in rows
        ]
        return Score(
            self.id,
            metrics=metrics,
            errors=errors,
            details={"pseudo_experiments": rows[keep].to_dict(orient="records")},
            failures=[
                f"pseudo-experiment ({r.set_index}, {getattr(r, 'pe_index', '?')}): {getattr(r, 'message', 'failed')}"
                for r in failed.itertuples(index=False)
            ],
        )

    def check_submission(self, outputs: Path, truth: Path | None = None) -> None:
        from .answers import read_answers

        outputs = Path(outputs)
        read_answers(outputs / ANSWERS_FILE if outputs.is_dir() else outputs)

    def check_record(self, record: dict[str, Any], where: str, at: str) -> None:
        rows = record.get("pseudo_experiments")
        if rows is None:
            return
        if not isinstance(rows, list) or not rows:
            raise RecordError(f"{where}: field {at}pseudo_experiments must be a non-empty list of rows")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise RecordError(f"{where}: field {at}pseudo_experiments[{i}] must be an object")
            for key in PE_KEYS:
                if key not in row:
                    raise RecordError(f"{where}: field {at}pseudo_experiments[{i}].{key} is missing")

    def score_record(self, record_path: Path, record: dict[str, Any]) -> Score:
        """A baseline run record: its pseudo-experiment rows rescored when it keeps them, and the
        metrics only the run knows (AUC, AMS, timings) as reported."""
        reported = {k: record[k] for k in REPORTED if k in record} | {
            k: v for k, v in record["metrics"].items() if k in REPORTED
        }
        if record.get("pseudo_experiments"):
            score = self.score(record_path, None)
        else:
            score = Score.from_record(record)
        for key, value in reported.items():
            score.metrics.setdefault(key, value)
        return score

    # -- display --------------------------------------------------------------------------------
    def table(self, title: str, records: Any) -> Any:
        from .comparison import metrics_table

        return metrics_table(title, records)


CHALLENGE = HiggsUncertainty()


def _read_plan(path: Path) -> TestPlan:
    """The :class:`TestPlan` in ``path``; a broken one is named with its field, not a traceback."""
    import numpy as np
    import pandas as pd

    from .pseudo_experiments import TestPlan

    try:
        plan = TestPlan.from_json(path)
    except OSError as err:
        raise ValueError(f"{path}: cannot read the test plan ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err.msg} at line {err.lineno})") from None
    except KeyError as err:
        raise ValueError(f"{path}: not a test plan (field {err} missing)") from None
    except (TypeError, ValueError, AttributeError):
        raise ValueError(
            f"{path}: not a test plan (a JSON object with n_sets, n_pseudo_experiments, initial_seed, "
            "active_systematics and pseudo_experiments)"
        ) from None
    table = plan.table
    missing = [c for c in ("set_index", "pe_index", "seed", "mu_true") if c not in table]
    if missing or len(table) != plan.n_sets * plan.n_pseudo_experiments:
        raise ValueError(
            f"{path}: field 'pseudo_experiments' must hold n_sets x n_pseudo_experiments rows with set_index, "
            f"pe_index, seed and mu_true" + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    mu_true = pd.to_numeric(table["mu_true"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(mu_true).all():
        row = int(np.flatnonzero(~np.isfinite(mu_true))[0])
        raise ValueError(f"{path}: field 'pseudo_experiments' row {row}: mu_true must be a finite number")
    repeated = np.flatnonzero(table.duplicated(["set_index", "pe_index"]).to_numpy())
    if len(repeated):
        row = int(repeated[0])
        raise ValueError(f"{path}: field 'pseudo_experiments' row {row}: set_index and pe_index repeat an earlier row")
    return plan
