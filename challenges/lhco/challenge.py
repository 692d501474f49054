"""LHC Olympics anomaly detection as a :class:`~hepbench.challenges.base.Challenge`: data,
detectors, submissions and the one scorer (AUC, max SIC, rejection, bump-hunt Z; or a black box's
answer against its truth)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...records import Score
from ...scoring.anomaly import MIN_BACKGROUND
from ..base import Challenge, MetricColumn, RankingMetric, check_options

OFFICIAL_PRESET = "official"
"""``preset`` in the sidecars of a folder made by ``hepbench data import lhco``."""


class LhcOlympics(Challenge):
    id = "lhco"
    title = "LHC Olympics anomaly detection"
    description = (
        "Find a dijet resonance (W' -> X Y, hidden among QCD dijets at S/B ~ 0.6% in the signal region) "
        "without labels: score events in the signal region, ranked by the maximum significance improvement."
    )
    metric_notes = (
        "A submission gives every event of the phase's signal-region test set an anomaly score (the "
        "organiser keeps the labels) and scores an independent sample for a bump hunt in mjj. Cuts on the "
        "score trace the ROC curve; the maximum significance improvement eps_S / sqrt(eps_B) over the cuts "
        "that keep enough background ranks, then the ROC AUC. 1/eps_B is the background rejection at a "
        "fixed signal efficiency; the bump-hunt Z is the largest local significance of the excess in the "
        "signal region after a cut on the score. Each submission's page shows its SIC curve."
    )
    ranking = (
        RankingMetric(
            "max_sic",
            True,
            f"max eps_S / sqrt(eps_B) over cuts keeping at least {MIN_BACKGROUND} background events of the test set",
            "max SIC",
        ),
        RankingMetric("auc", True, "ROC AUC on the labelled signal-region test set", "AUC"),
    )
    columns = (
        MetricColumn("rejection_at_eps_s_0.5", "1/eps_B @ eps_S=0.5", ".1f"),
        MetricColumn("rejection_at_eps_s_0.2", "1/eps_B @ eps_S=0.2", ".1f"),
        MetricColumn("bump_hunt_z_max", "bump-hunt Z", ".2f"),
        MetricColumn("train_seconds", "train s", ".0f"),
    )
    baseline_registry = "hepbench.baselines.lhco.registry:BASELINES"
    tune_objective = RankingMetric(
        "max_sic",
        True,
        "max SIC on an independent labelled signal-region validation sample (the test set's sizes)",
        "validation max SIC",
    )

    # -- data -----------------------------------------------------------------------------------
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None, **options: Any) -> dict[str, Any]:
        """``constituents=N`` adds the particle level: up to N particles per jet; ``correlated=True``
        the correlated-feature variant (m_j1 -> m_j1 + 0.1 m_jj in every file)."""
        from .dataset import generate_with_summary

        check_options(self, options, ("constituents", "correlated"))
        return generate_with_summary(preset, seed, out, client=client, **options)

    def load(self, folder: Path) -> Any:
        from .dataset import load_dataset

        return load_dataset(folder)

    def is_generated(self, folder: Path) -> bool:
        return (Path(folder) / "data.parquet").exists()

    def ensure_data(
        self, preset: str, seed: int, data_dir: Path | None = None, real: Path | None = None, **options: Any
    ) -> Any:
        """The data set of a run: the real high-level subset split as a benchmark (``real``), a
        written one from ``data_dir`` (checksums verified), or the preset generated."""
        if real is not None:
            from .real_benchmark import real_subset_dataset
            from .real_data import load_highlevel_subset

            return real_subset_dataset(load_highlevel_subset(real), seed)
        data = super().ensure_data(preset, seed, data_dir)
        if data.preset != OFFICIAL_PRESET and (data.preset, data.seed) != (preset, seed):
            raise ValueError(f"{data_dir} holds preset {data.preset!r} seed {data.seed}, not {preset!r} seed {seed}")
        return data

    data_options = ("real",)
    import_options = ("seed", "signal_over_background", "extra_qcd", "client")

    official_importer = "hepbench.challenges.lhco.official:import_lhco"
    unbinned_export = "hepbench.challenges.lhco.unbinned:unbinned_sets"

    def validate_data(
        self, real: Path | None, out: Path, *, seed: int = 1, events_per_process: int = 200_000, **options: Any
    ) -> dict[str, Any]:
        from ...output import console
        from ...reference_data import path as reference_path
        from .validation import validate_generator, validate_particles

        if real is not None and not Path(real).exists():
            raise FileNotFoundError(f"{real}: no such R&D file or high-level subset folder (--real)")
        if real is not None and Path(real).is_file():
            # An R&D particle file: compare the generator's particles, jet by jet.
            with console.status("generating particle-level events to compare", spinner="dots"):
                table = validate_particles(real, events_per_process, seed, out)
            return {
                "real": real,
                "rows": table.to_dict(orient="records"),
                "columns": ["class", "feature", "n_real", "w1_std", "ks", "median_real", "median_gen"],
            }
        folder = Path(real) if real is not None and Path(real).is_dir() else reference_path("lhco-highlevel-subset")
        with console.status("generating events to compare", spinner="dots"):
            table, two_sample = validate_generator(folder, events_per_process, seed, out)
        return {
            "real": folder,
            "rows": table.to_dict(orient="records"),
            "two_sample": two_sample.to_dict(orient="records"),
            "columns": ["class", "feature", "w1_std", "ks", "median_real", "median_gen"],
        }

    # -- baselines ------------------------------------------------------------------------------
    def comparison_methods(self) -> tuple[str, ...]:
        from ...baselines.lhco.registry import HIGH_LEVEL

        return HIGH_LEVEL

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
        real: Path | None = None,
        min_background: float = MIN_BACKGROUND,
        params: Mapping[str, Any] | None = None,
        checkpoint: Path | None = None,
        resume: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Fit ``method`` (hyperparameter overrides ``params``) and score it (without the per-event
        scores). The bump hunt runs on an independent generated sample of the preset; real events
        have none, so no bump hunt there. ``min_background``: the max-SIC floor in test-set
        background events. ``checkpoint``: a folder where each training keeps its state after
        every epoch; ``resume`` continues the stopped run it holds (same options)."""
        from ...checkpoints import resumable_run
        from ...output import console
        from ...torch_common import resolve_device
        from .dataset import data_sample, is_correlated
        from .run import bump_sample_seed, run_detector
        from .schema import n_particles

        check_options(self, options, ())
        baseline = self.baseline(method)
        overrides = baseline.check_params(params or {})
        resolved = resolve_device(device)
        dataset = self.ensure_data(preset, seed, data_dir, real)
        model_seed = seed if model_seed is None else model_seed
        detector = baseline.factory(
            size or ("small" if real is not None else preset), resolved, model_seed, **overrides
        )
        official = real is None and dataset.preset == OFFICIAL_PRESET
        # A particle-level data set gets a particle-level bump-hunt sample (same particles per jet),
        # made once per data folder: its particles cost minutes.
        per_jet = n_particles(dataset.inputs.data.columns) // 2 or None
        bump = None
        correlated = real is None and is_correlated(self.data_dir(preset, seed, data_dir))
        if real is None and not official:
            cache = None if per_jet is None or data_dir is None else Path(data_dir) / "bump_hunt_sample.parquet"
            bump = data_sample(preset, bump_sample_seed(seed), constituents=per_jet, correlated=correlated, cache=cache)
        console.print(
            f"[bold]{method}[/bold] (seed {model_seed}): fitting on {len(dataset.inputs.data):,} events ({resolved})"
        )
        provenance = {
            "size": self.model_size(preset, size),
            "model_seed": model_seed,
            "data": "real-subset" if real is not None else ("official" if official else "generated"),
            "generator_version": None
            if real is not None
            else self.data_generator_version(self.data_dir(preset, seed, data_dir)),
            "correlated": correlated,
        }
        identity = {
            "method": method,
            "preset": preset,
            "data_seed": seed,
            "params": dict(overrides),
            "device": resolved,
        }
        with resumable_run(checkpoint, {**identity, **provenance}, resume=resume):
            record = run_detector(
                method, detector, dataset, device=resolved, bump_data=bump, min_background=min_background
            )
        record.update(provenance)
        if overrides:
            record["params"] = overrides
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
        **options: Any,
    ) -> dict[str, float]:
        """Fit ``method`` on what the protocol gives it (never the test set) and score it on an
        independent labelled signal-region sample: max SIC, AUC, rejections."""
        from ...scoring.anomaly import anomaly_metrics
        from ...torch_common import resolve_device
        from .dataset import load_inputs, validation_sample
        from .run import detector_scores
        from .schema import LABEL

        check_options(self, options, ())
        baseline = self.baseline(method)
        overrides = baseline.check_params(params)
        folder = self.data_dir(preset, seed, data_dir)
        if not self.is_generated(folder):
            self.ensure_data(preset, seed, folder)
        detector = baseline.factory(
            self.model_size(preset, size),
            resolve_device(device),
            seed if model_seed is None else model_seed,
            **overrides,
        )
        detector.fit(load_inputs(folder))
        validation = validation_sample(folder)
        score = detector_scores(detector, validation, "validation sample")
        return {k: float(v) for k, v in anomaly_metrics(validation[LABEL].to_numpy(), score).items()}

    demo_hidden = ("sic_curve",)

    def run_seeds(
        self,
        methods: list[str],
        seeds: list[int],
        *,
        preset: str,
        seed: int,
        data: Path | None,
        size: str | None,
        device: str,
        real: Path | None,
        scheduler: str,
        workers: int | None,
        progress: bool,
        on_result: Any = None,
        min_background: float = MIN_BACKGROUND,
        done: frozenset[tuple[str, int]] = frozenset(),
        checkpoints: Path | None = None,
        resume: bool = False,
    ) -> list[dict[str, Any]]:
        """Every (method, training seed) pair on the same data but those in ``done``, as tasks
        on ``scheduler``; the data set exists already (made by :meth:`compare`). With
        ``checkpoints``, each pair's trainings keep per-epoch state in ``METHOD/seed-S`` there
        (``resume`` continues a stopped pair inside its training)."""
        from ...parallel import dask_client, map_tasks
        from ..base import run_task

        options = {
            "preset": preset,
            "seed": seed,
            "data_dir": data,
            "size": size,
            "device": device,
            "real": real,
            "min_background": min_background,
        }

        def pair(m: str, s: int) -> dict[str, Any]:
            if checkpoints is None:
                return {**options, "model_seed": s}
            return {**options, "model_seed": s, "checkpoint": checkpoints / m / f"seed-{s}", "resume": resume}

        tasks = [(self.id, m, pair(m, s)) for m in methods for s in seeds if (m, s) not in done]
        if not tasks:
            return []
        with dask_client(scheduler if len(tasks) > 1 else "serial", workers) as client:
            return map_tasks(
                run_task, tasks, client=client, progress=progress, description="trainings", on_result=on_result
            )

    def _kept_results(
        self,
        json_path: Path | None,
        *,
        preset: str,
        seed: int,
        data: Path | None,
        size: str | None,
        real: Path | None,
        floor: float,
    ) -> list[dict[str, Any]]:
        """The (method, training seed) results of ``json_path`` made on this comparison's data
        (same data seed, generator version, model size and max-SIC floor), for ``--resume``."""
        from ..resume import kept_results
        from .dataset import is_correlated

        wanted: dict[str, Any] = {"data_seed": seed, "metrics.min_background": floor}
        if real is not None:
            wanted.update(data="real-subset", size=size or "small")
        else:
            folder = self.data_dir(preset, seed, data)
            version = self.data_generator_version(folder)
            wanted.update(
                preset=preset,
                size=self.model_size(preset, size),
                generator_version=version,
                correlated=is_correlated(folder),
            )
        # Records written before the correlated-feature variant could be compared were nominal.
        kept = kept_results(json_path, wanted, defaults={"correlated": False})
        # One record per (method, seed): the file may hold a pair twice only if edited by hand.
        return list({(r["method"], r["model_seed"]): r for r in kept}.values())

    def compare(
        self,
        names: list[str],
        *,
        preset: str,
        seed: int,
        data: Path | None,
        size: str | None,
        device: str,
        scheduler: str,
        workers: int | None,
        progress: bool,
        markdown: Path | None,
        machine: str,
        command: str,
        date: str,
        json_path: Path | None,
        resume: bool = False,
        model_seeds: list[int] | None = None,
        real: Path | None = None,
        min_background: float = MIN_BACKGROUND,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """Every detector over training seeds on one data set; table, SIC plot, Markdown section.
        ``min_background``: the max-SIC floor in test-set background events."""
        from ...checkpoints import beside, remove_empty_folders
        from ...output import console, write_json
        from ..resume import split_resumed
        from ..sections import write_section
        from .comparison import comparison_markdown, plot_sic_curves, summarise
        from .dataset import is_correlated

        check_options(self, options, ())
        seeds = model_seeds or [0, 1, 2]
        records: list[dict[str, Any]] = []
        # Results on the same data that this run does not name stay in the file and the table.
        carried: list[dict[str, Any]] = []
        same_data: list[dict[str, Any]] = []
        if real is None:
            # Once, before the workers read it (and before --resume reads its generator version).
            self.ensure_data(preset, seed, data)
        if resume:
            same_data = self._kept_results(
                json_path, preset=preset, seed=seed, data=data, size=size, real=real, floor=min_background
            )
            records, carried = split_resumed(
                same_data,
                lambda r: r["method"] in names and r["model_seed"] in seeds,
                json_path,
                lambda r: f"{r['method']} (seed {r['model_seed']})",
            )

        # The file's order first (a resumed file keeps its rows in place), then this run's.
        methods = list(dict.fromkeys([r["method"] for r in same_data] + names))
        model_seeds = list(dict.fromkeys([r["model_seed"] for r in same_data] + seeds))

        def ordered() -> list[dict[str, Any]]:
            return sorted(
                carried + records, key=lambda r: (methods.index(r["method"]), model_seeds.index(r["model_seed"]))
            )

        def keep(_: int, record: dict[str, Any]) -> None:
            records.append(record)
            write_json(json_path, {"challenge": "lhco", "results": ordered()})

        self.run_seeds(
            names,
            seeds,
            preset=preset,
            seed=seed,
            data=data,
            size=size,
            device=device,
            real=real,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            on_result=keep,
            min_background=min_background,
            done=frozenset((r["method"], r["model_seed"]) for r in records),
            # Beside the JSON, each (method, seed) keeps its trainings' per-epoch state.
            checkpoints=beside(json_path),
            resume=resume,
        )
        remove_empty_folders(beside(json_path))
        records = ordered()
        # One section (and plot) per data set, so that a full-size run does not replace the small one.
        variant = "-correlated" if real is None and is_correlated(self.data_dir(preset, seed, data)) else ""
        which = "real" if real is not None else f"generated-{preset}{variant}"
        console.print(self.table(f"lhco / {which} data", records))
        summary = summarise(records)
        for row in summary:
            console.print(
                f"{row['method']}: max SIC {row['max_sic_median']:.2f} "
                f"[{row['max_sic_p16']:.2f}, {row['max_sic_p84']:.2f}], AUC {row['auc_median']:.3f}"
            )
        write_json(json_path, {"challenge": "lhco", "summary": summary, "results": records})
        if markdown is not None:
            plot = plot_sic_curves(
                records,
                Path(markdown).parent / "results" / f"lhco_sic_{which}.png",
                f"LHCO, {which} data: median SIC over training seeds",
            )
            title = (
                "Real R&D events (public high-level subset)"
                if real is not None
                else f"Generated R&D-like events (preset {preset}{', correlated-feature variant' if variant else ''})"
            )
            section = comparison_markdown(
                records,
                name=f"comparison:lhco:{which}",
                title=title,
                command=command,
                machine=machine,
                date=date,
                plot=str(plot.relative_to(Path(markdown).parent)),
            )
            console.print(f"wrote the lhco {which} section of {write_section(markdown, section)} and {plot}")
        return records

    # -- submissions ----------------------------------------------------------------------------
    def write_inputs(self, input_dir: Path, organiser_dir: Path, **options: Any) -> dict[str, Any]:
        from .submission import write_inputs

        return write_inputs(input_dir, organiser_dir, **options)

    def check_truth(self, truth: Path) -> None:
        """An organiser folder: of :meth:`write_inputs` (labels, bump-hunt masses, signal region)
        or of a black box (``truth.json``)."""
        from .black_box import read_box_truth
        from .submission import read_truth

        truth = Path(truth)
        if not truth.is_dir():
            raise ValueError(f"{truth}: lhco's truth is an organiser folder, not a file")
        if (truth / "truth.json").exists():
            read_box_truth(truth)
        else:
            read_truth(truth)

    def check_submission(self, outputs: Path, truth: Path | None = None) -> None:
        """A payload scored as it is: a black-box answer (JSON), or an output folder. An uploaded
        answer is one file, so it cannot carry a per-event ``scores`` file (a code bundle can)."""
        from .black_box import read_answer
        from .submission import OUTPUTS

        outputs = Path(outputs)
        if outputs.is_dir():
            missing = [name for name in OUTPUTS.values() if not (outputs / name).is_file()]
            if missing:
                raise ValueError(f"{outputs}: no {', '.join(missing)}")
            return
        if outputs.suffix.lower() != ".json":
            raise ValueError(
                f"{outputs}: lhco takes a code bundle (.tar.gz, .zip), an image tar (.tar) or a black-box "
                "answer (.json)"
            )
        answer, source, _ = read_answer(outputs)
        if answer["scores"] is not None:
            raise ValueError(
                f"{source}: field 'scores' names a file that an uploaded answer cannot carry; submit the "
                "per-event scores as a code bundle, or leave the field out"
            )

    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> Any:
        from .submission import read_and_validate_outputs

        return read_and_validate_outputs(output_dir, organiser_dir)

    def describe_outputs(self, outputs: Any) -> str:
        return ", ".join(f"{len(v)} {name} scores" for name, v in outputs.items()) + ", schema valid"

    def score(self, outputs: Path, truth: Path | None, **options: Any) -> Score:
        """Per-event scores (``test_scores.npy`` and ``bump_hunt_scores.npy`` in an output folder)
        against the organiser folder of :meth:`write_inputs`: AUC, max SIC, rejections and the
        bump-hunt Z. Or a black box's answer (JSON: significance, mass, mass_uncertainty,
        optional scores file) against the box's truth folder (``hepbench data black-box``).
        Option ``min_background`` (default 25): fewest test-set background events a cut keeps
        for the maximum SIC."""
        check_options(self, options, ("min_background",))
        min_background = options.get("min_background", MIN_BACKGROUND)
        if isinstance(min_background, bool) or not isinstance(min_background, (int, float)):
            raise ValueError(f"lhco option min_background must be a number of events, got {min_background!r}")
        if truth is None:
            raise ValueError("lhco scoring needs the organiser's truth folder")
        outputs, truth = Path(outputs), Path(truth)
        if (truth / "truth.json").exists():
            from .black_box import score_answer

            result = score_answer(outputs, truth, min_background=min_background)
            return Score(self.id, metrics=result)
        from .submission import score_outputs

        result = score_outputs(self.read_outputs(outputs, truth), truth, min_background=min_background)
        return Score(self.id, metrics=result.pop("metrics"), details=result)

    # -- display --------------------------------------------------------------------------------
    def table(self, title: str, records: Any) -> Any:
        """Rich table of LHCO results, one row per record."""
        from rich.table import Table

        floors = sorted({f"{r['metrics']['min_background']:g}" for r in records if "min_background" in r["metrics"]})
        caption = f"max SIC over cuts keeping at least {' / '.join(floors)} test background events" if floors else None
        table = Table(title=title, caption=caption)
        for column in ("method", "seed", "max SIC", "AUC", "1/eps_B@0.2", "1/eps_B@0.5", "bump Z", "train s"):
            table.add_column(column, justify="right", no_wrap=(column == "method"))
        for r in records:
            m = r["metrics"]
            table.add_row(
                r["method"],
                str(r.get("model_seed", "-")),
                f"{m['max_sic']:.2f}",
                f"{m['auc']:.3f}",
                f"{m['rejection_at_eps_s_0.2']:.1f}",
                f"{m['rejection_at_eps_s_0.5']:.1f}",
                f"{m.get('bump_hunt_z_max', float('nan')):.2f}",
                f"{r.get('train_seconds', float('nan')):.0f}",
            )
        return table


CHALLENGE = LhcOlympics()
