"""Calorimeter fast simulation as a :class:`~hepbench.challenges.base.Challenge`: reference
showers, generators, submissions and the one scorer (classifier AUC / JSD, FPD, KPD, separation
powers)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...records import Score
from ..base import Challenge, MetricColumn, PhaseMetrics, RankingMetric, check_options

OUTPUT_FILE = "showers.npy"


class CaloFastSimulation(Challenge):
    id = "calo"
    title = "Calorimeter fast simulation"
    description = (
        "Generate calorimeter showers (CaloChallenge 2022 formats) indistinguishable from the reference "
        "simulation, conditioned on the incident energy."
    )
    metric_notes = (
        "A submission generates one shower per incident energy of the phase; the organiser compares them "
        "with held-out reference showers at the same energies. A classifier trained to tell generated from "
        "reference showers on voxel energies ranks (AUC 0.5: indistinguishable), then the Frechet physics "
        "distance (FPD) of the high-level features: energy per layer, centre of energy and shower width. "
        "KPD is the kernel physics distance of the same features, the separation power the mean difference "
        "of their histograms (0: identical). Errors: the AUC's standard deviation over classifier "
        "trainings, the FPD's fit uncertainty and half the KPD's interquartile range over batches. Each submission's page shows the feature histograms against the reference."
    )
    ranking = (
        RankingMetric(
            "auc_low",
            False,
            "AUC of a classifier reference vs generated on voxels (0.5 = indistinguishable)",
            "AUC low-level",
        ),
        RankingMetric("fpd", False, "Frechet physics distance of the high-level features", "FPD"),
    )
    columns = (
        MetricColumn("auc_high", "AUC high-level"),
        MetricColumn("kpd", "KPD", ".2e"),
        MetricColumn("separation_power_mean", "mean sep. power"),
        MetricColumn(
            "multiclass_log_posterior",
            "multiclass",
            ".2f",
            note=(
                "mean log posterior of the submission's class on held-out reference showers, from a classifier "
                "trained on the generated showers of every scored submission of this phase (one class each, no "
                "reference class) and retrained when a new one is scored; higher is better, ln(1/N) when N "
                "submissions are indistinguishable; undefined (–) while fewer than two are scored"
            ),
        ),
        MetricColumn(
            "ms_per_shower",
            "ms / shower",
            ".3g",
            note=(
                "generation wall time per shower in ms, on the device and machine of the run: baselines time "
                "sample() at a batch of 10,000 showers after one warm-up call; a sandboxed submission is timed "
                "inside its sandbox by the kit's entrypoint the same way (batches of up to 10,000, the phase's "
                "showers, after one warm-up call) and the host refuses a time above the sandbox's wall time. "
                "The number comes from inside the sandbox; – where no sandboxed run measured it"
            ),
        ),
    )
    input_options = ("preset", "seed", "geometry", "data_dir")
    baseline_registry = "hepbench.baselines.calo.registry:BASELINES"
    tune_objective = RankingMetric(
        "auc_low",
        False,
        "low-level classifier AUC of generated vs 20% of the training showers held out (0.5 = indistinguishable)",
        "validation AUC",
    )
    score_options = ("classifier", "n_runs", "plots", "geometry", "wall_seconds")
    kept_outputs = (OUTPUT_FILE,)

    # -- data -----------------------------------------------------------------------------------
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None, **options: Any) -> dict[str, Any]:
        """Simulate the preset's showers; option ``geometry`` (a name or a list) keeps only those
        geometries."""
        check_options(self, options, ("geometry",))
        import time

        from .dataset import generate_dataset

        start = time.perf_counter()
        geometry = options.get("geometry")
        written = generate_dataset(preset, seed, out, [geometry] if isinstance(geometry, str) else geometry)
        return {
            "files": written,
            "file_columns": ["geometry", "n_showers", "n_voxels"],
            "seconds": time.perf_counter() - start,
        }

    def load(self, folder: Path) -> Path:
        """The folder itself: each geometry's split is read when used (``dataset.load_split``)."""
        return Path(folder)

    def is_generated(self, folder: Path) -> bool:
        """Whether ``folder`` holds a train and a test file of at least one geometry, generated
        (``GEOMETRY_train.hdf5``) or imported (the official names)."""
        from .official import geometries_present

        folder = Path(folder)
        generated = any(
            (folder / path.name.replace("_train.", "_test.")).exists() for path in folder.glob("*_train.hdf5")
        )
        return generated or bool(geometries_present(folder))

    def ensure_data(
        self, preset: str, seed: int, data_dir: Path | None = None, geometry: str | None = None, **options: Any
    ) -> Path:
        """The data folder, its showers simulated on first need: every geometry of the preset, or
        only ``geometry`` (a later run on another geometry adds that one: each geometry has its
        own seed stream, so the files are the same either way). A folder of other showers
        (another preset, seed or simulator version, or official files) is used as it is: a geometry it lacks is an
        error where it is needed. Any other folder is refused."""
        from ...output import console
        from .dataset import generate_dataset, get_calo_preset, has_split_files, simulated_as
        from .simulator import SIMULATOR_VERSION

        spec = get_calo_preset(preset)
        target = self.data_dir(preset, seed, data_dir)
        # Only a folder of this preset, seed and simulator version is topped up: never mix files.
        if self.holds_data(target) and simulated_as(target) != (preset, seed, SIMULATOR_VERSION):
            return target
        # A geometry outside the preset is reported where it is read, with the preset's list.
        wanted = list(spec.showers) if geometry is None else [g for g in (geometry,) if g in spec.showers]
        missing = [g for g in wanted if not has_split_files(target, g)]
        if missing:
            names = ", ".join(missing)
            with console.status(
                f"simulating calo preset {preset!r} (seed {seed}, {names}) into {target}", spinner="dots"
            ):
                generate_dataset(preset, seed, target, missing)
        return target

    data_options = ("geometry",)
    import_options = ("geometry",)

    official_importer = "hepbench.challenges.calo.official:import_calo"
    unbinned_export = "hepbench.challenges.calo.unbinned:unbinned_sets"

    def validate_data(self, real: Path | None, out: Path, *, seed: int = 1, **options: Any) -> dict[str, Any]:
        """Physics checks of the simulator for data sets 1 (photons) and 2, with plots under ``out``."""
        from ...output import console
        from .physics import physics_report

        results, rows = {}, []
        for geometry in ("ds1-photons", "ds2"):
            with console.status(f"physics checks for {geometry}", spinner="dots"):
                results[geometry] = report = physics_report(geometry, out, seed=seed)
            m, c, r, h = report["shower_maximum"], report["containment"], report["resolution"], report["occupancy"]
            rows.append(
                {
                    "geometry": report["geometry"],
                    "material": report["material"],
                    "t_max X0 per ln(E/Ec)": m["slope_x0_per_ln_y"],
                    "within 1 Rm": f"{min(c['within_1_rm']):.3f}..{max(c['within_1_rm']):.3f}",
                    "a / sqrt(E)": r["a_sqrt_gev"],
                    "b": r["b_constant"],
                    "a input": r["a_input_sqrt_gev"],
                    "non-zero voxels 1..1000 GeV": "/".join(f"{n:.0f}" for n in h["nonzero_mean"]),
                }
            )
        return {"physics": results, "rows": rows, "columns": list(rows[0])}

    # -- baselines ------------------------------------------------------------------------------
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
        geometry: str | None = None,
        classifier: str = "small",
        out: Path | None = None,
        params: Mapping[str, Any] | None = None,
        checkpoint: Path | None = None,
        resume: bool = False,
        showers: int | None = None,
        epochs: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Train ``method`` on one geometry of the preset (default its first) and evaluate it; the
        record (``generated_showers`` kept out of it: see :meth:`run_generator`). ``checkpoint``:
        a folder where each training (the generator, the evaluation classifiers) keeps its state
        after every epoch; ``resume`` continues the stopped run it holds (same options).
        ``showers``: train and evaluate on the first that many showers of each split (default all).
        ``epochs``: cap on the generator's training epochs (default its size's)."""
        check_options(self, options, ())
        record, _ = self.run_generator(
            method,
            preset=preset,
            seed=seed,
            data_dir=data_dir,
            size=size,
            device=device,
            geometry=geometry or "ds1-photons",
            classifier=classifier,
            model_seed=model_seed,
            out=out,
            params=params,
            checkpoint=checkpoint,
            resume=resume,
            showers=showers,
            epochs=epochs,
        )
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
        geometry: str | None = None,
        classifier: str = "small",
        **options: Any,
    ) -> dict[str, float]:
        """Train ``method`` on 80% of one geometry's training showers (default ds1-photons) and
        score it against the other 20% with the evaluation classifier ``classifier``."""
        from ...torch_common import resolve_device
        from .tuning import validation_metrics

        check_options(self, options, ())
        baseline = self.baseline(method)
        overrides = baseline.check_params(params)
        resolved = resolve_device(device)
        geometry = self._geometry(preset, geometry or "ds1-photons")
        folder = self.ensure_data(preset, seed, data_dir, geometry)
        model_seed = seed if model_seed is None else model_seed
        return validation_metrics(
            baseline.factory(self.model_size(preset, size), resolved, model_seed, **overrides),
            folder,
            geometry,
            classifier=classifier,
            seed=model_seed,
            device=resolved,
        )

    def _geometry(self, preset: str, geometry: str) -> str:
        from .dataset import get_calo_preset

        if geometry not in get_calo_preset(preset).showers:
            raise ValueError(
                f"preset {preset!r} has no {geometry!r} showers; it has {list(get_calo_preset(preset).showers)}"
            )
        return geometry

    def run_generator(
        self,
        method: str,
        *,
        preset: str,
        seed: int,
        data_dir: Path | None,
        size: str | None,
        device: str,
        geometry: str,
        classifier: str,
        model_seed: int | None = None,
        out: Path | None = None,
        params: Mapping[str, Any] | None = None,
        checkpoint: Path | None = None,
        resume: bool = False,
        keep_checkpoint: bool = False,
        showers: int | None = None,
        epochs: int | None = None,
    ) -> tuple[dict[str, Any], np.ndarray]:
        """(record, generated showers) of ``method`` (hyperparameter overrides ``params``)
        trained on one geometry of the preset; ``checkpoint`` / ``resume`` as in :meth:`run_baseline`
        (``keep_checkpoint``: the folder stays after success, see ``checkpoints.resumable_run``);
        ``epochs`` caps the generator's training epochs (default its size's)."""
        from ...checkpoints import resumable_run
        from ...output import console
        from ...torch_common import resolve_device
        from .dataset import get_calo_preset, has_split_files
        from .run import run_generator

        baseline = self.baseline(method)
        overrides = baseline.check_params(params or {})
        if epochs is not None and epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        # Not a tuned hyperparameter (a search would only learn that more epochs help): a cap the
        # user sets, e.g. to fit a training into the time a machine has.
        capped = {**overrides, "epochs": epochs} if epochs is not None else overrides
        resolved = resolve_device(device)
        folder = self.ensure_data(preset, seed, data_dir, geometry)
        if not has_split_files(folder, geometry):
            raise ValueError(
                f"{folder}: no {geometry!r} showers (train and test); preset {preset!r} has "
                f"{list(get_calo_preset(preset).showers)}, and `hepbench data import calo` brings official ones"
            )
        model_seed = seed if model_seed is None else model_seed
        size = self.model_size(preset, size)
        console.print(f"[bold]{method}[/bold] on {geometry}: training ({resolved})")
        identity = {
            "method": method,
            "preset": preset,
            "data_seed": seed,
            "generator_version": self.data_generator_version(folder),
            "size": size,
            "model_seed": model_seed,
            "params": dict(overrides),
            "device": resolved,
            "geometry": geometry,
            "classifier": classifier,
            "showers": showers,
        }
        if epochs is not None:  # only when given, so that checkpoints of earlier runs still resume
            identity["epochs"] = epochs
        with resumable_run(checkpoint, identity, resume=resume, keep=keep_checkpoint):
            record, generated = run_generator(
                method,
                baseline.factory(size, resolved, model_seed, **capped),
                folder,
                geometry,
                classifier=classifier,
                device=resolved,
                seed=model_seed,
                out=out,
                showers=showers,
            )
        record["size"] = size
        if overrides:
            record["params"] = overrides
        return record, generated

    def run_demo(self, methods: list[str], **options: Any) -> list[dict[str, Any]]:
        """Every demo generator as :meth:`run_baseline`, then the multiclass score over all of them
        (on the same geometry, with the same classifier size) as ``multiclass_log_posterior``."""
        from ...torch_common import resolve_device
        from .run import multiclass_table

        options = dict(options)
        check_options(
            self, options, ("preset", "seed", "data_dir", "size", "device", "progress", "geometry", "classifier")
        )
        options.pop("progress", None)
        preset, seed = options.pop("preset", "small"), options.pop("seed", 0)
        data_dir = options.pop("data_dir", None)
        geometry, classifier = options.pop("geometry", "ds1-photons"), options.pop("classifier", "small")
        done = [
            self.run_generator(
                m,
                preset=preset,
                seed=seed,
                data_dir=data_dir,
                size=options.get("size"),
                device=options.get("device", "auto"),
                geometry=geometry,
                classifier=classifier,
            )
            for m in methods
        ]
        if len(done) > 1:
            multiclass = multiclass_table(
                self.ensure_data(preset, seed, data_dir, geometry),
                geometry,
                {r["method"]: g for r, g in done},
                classifier=classifier,
                seed=seed,
                device=resolve_device(options.get("device", "auto")),
            )
            for r, _ in done:
                r["metrics"]["multiclass_log_posterior"] = multiclass.log_posterior[r["method"]]
        return [r for r, _ in done]

    def demo_options(self, preset: str, seed: int, **overrides: Any) -> tuple[dict[str, Any], str]:
        # The demo trains the tiny configurations: the small ones take many minutes each on two cores.
        return {"size": "tiny", "geometry": "ds1-photons", "classifier": "tiny"}, f"{preset} showers, tiny generators"

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
        geometry: str | None = None,
        classifier: str = "small",
        resume: bool = False,
        epochs: int | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """Every generator on each geometry of the preset: metrics, multiclass scores, Markdown;
        ``epochs`` caps every generator's training epochs (default each size's)."""
        from ...checkpoints import beside, remove_folder
        from ...output import console, write_json
        from ...parallel import dask_client, map_tasks
        from ...torch_common import resolve_device
        from ..sections import write_section
        from .dataset import OFFICIAL_FILES, has_split_files
        from .evaluation import multiclass_heatmap
        from .run import calo_markdown, multiclass_table

        check_options(self, options, ())
        if resume and json_path is None:
            raise ValueError("--resume needs --json: its checkpoints are kept beside the JSON file")
        folder = self.ensure_data(preset, seed, data, geometry)
        # Each generator's trainings (and its evaluation classifiers') keep per-epoch state beside
        # the JSON until the whole comparison is written: --resume gets finished ones back at once.
        checkpoints = beside(json_path)
        present = [g for g in OFFICIAL_FILES if has_split_files(folder, g)]
        geometries = [geometry] if geometry else present
        records: list[dict[str, Any]] = []
        multiclass_by_geometry: dict[str, dict[str, Any]] = {}
        figures = Path(markdown).parent / "results" if markdown is not None else None
        if figures is None and json_path is not None:
            figures = Path(json_path).parent
        for geo in geometries:
            tasks = [
                (
                    m,
                    preset,
                    seed,
                    folder,
                    size,
                    device,
                    geo,
                    classifier,
                    checkpoints and checkpoints / geo / m,
                    resume,
                    epochs,
                )
                for m in names
            ]
            with dask_client(scheduler if len(tasks) > 1 else "serial", workers) as client:
                done = map_tasks(_run_one, tasks, client=client, progress=progress, description=f"{geo} generators")
            geo_records = [r for r, _ in done]
            multiclass, heatmap = None, None
            if len(done) > 1:
                with console.status(f"{geo}: multiclass classifier over {len(done)} generators", spinner="dots"):
                    multiclass = multiclass_table(
                        folder,
                        geo,
                        {r["method"]: g for r, g in done},
                        classifier=classifier,
                        seed=seed,
                        device=resolve_device(device),
                    )
                multiclass_by_geometry[geo] = multiclass.to_dict()
                if figures is not None:
                    heatmap_path = figures / f"calo_multiclass_{preset}_{geo}.png"
                    heatmap_path.parent.mkdir(parents=True, exist_ok=True)
                    heatmap_path.write_bytes(multiclass_heatmap(multiclass, f"calo {geo}: multiclass, preset {preset}"))
                    heatmap = (
                        heatmap_path.relative_to(Path(markdown).parent).as_posix() if markdown else heatmap_path.name
                    )
                    console.print(f"wrote {heatmap_path}")
            if multiclass is not None:
                for r in geo_records:
                    r["metrics"]["multiclass_log_posterior"] = multiclass.log_posterior[r["method"]]
            records += geo_records
            write_json(json_path, {"challenge": "calo", "results": records, "multiclass": multiclass_by_geometry})
            console.print(self.table(f"calo / {geo}", geo_records))
            if markdown is not None:
                section = calo_markdown(
                    geo_records,
                    multiclass,
                    geometry=geo,
                    command=command,
                    machine=machine,
                    date=date or datetime.date.today().isoformat(),
                    heatmap=heatmap,
                )
                console.print(f"wrote the calo {geo} section of {write_section(markdown, section)}")
        remove_folder(checkpoints)
        return records

    # -- submissions ----------------------------------------------------------------------------
    def write_inputs(self, input_dir: Path, organiser_dir: Path, **options: Any) -> dict[str, Any]:
        from .submission import write_inputs

        return write_inputs(input_dir, organiser_dir, **options)

    def check_truth(self, truth: Path) -> None:
        """The reference: an organiser folder of :meth:`write_inputs` (its reference.json and the
        held-out showers it names) or an official HDF5 file; headers only."""
        from .showers_io import inspect_showers
        from .submission import check_reference

        truth = Path(truth)
        if truth.is_dir():
            check_reference(truth)
        else:
            inspect_showers(truth)

    def check_submission(self, outputs: Path, truth: Path | None = None) -> None:
        """A payload scored as it is: generated showers as an official HDF5 file (against a
        reference HDF5 file, with as many voxels), or an output folder holding showers.npy."""
        from .showers_io import inspect_showers
        from .submission import OUTPUT_FILE

        outputs = Path(outputs)
        if outputs.is_dir():
            if not (outputs / OUTPUT_FILE).is_file():
                raise ValueError(f"{outputs}: no {OUTPUT_FILE} (the generated showers)")
            return
        import h5py

        if not outputs.is_file() or not h5py.is_hdf5(outputs):
            raise ValueError(
                f"{outputs}: calo takes a code bundle (.tar.gz, .zip), an image tar (.tar) or generated "
                "showers as an official HDF5 file"
            )
        if truth is not None and Path(truth).is_dir():
            # an organiser folder scores what a sandboxed run generates for the phase's energies
            raise ValueError(
                f"{outputs}: this phase runs the generator in the sandbox; submit a code bundle "
                "(.tar.gz, .zip) or an image tar (.tar), not generated showers"
            )
        n_voxels = inspect_showers(truth)[1] if truth is not None else None
        inspect_showers(outputs, n_voxels=n_voxels)

    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> Any:
        from .submission import read_and_validate_outputs

        return read_and_validate_outputs(output_dir, organiser_dir)

    def describe_outputs(self, outputs: Any) -> str:
        return f"{len(outputs)} showers of {outputs.shape[1]} voxels, schema valid"

    def check_run_outputs(self, output_dir: Path, outputs: Any, *, wall_seconds: float) -> dict[str, Any]:
        """The in-sandbox generation timing (``timing.json``) against the showers and the wall time."""
        from .submission import read_generation_timing

        return {"generation_timing": read_generation_timing(output_dir, len(outputs), wall_seconds)}

    def score(
        self,
        outputs: Path,
        truth: Path | None,
        *,
        classifier: str = "small",
        n_runs: int = 1,
        plots: Path | None = None,
        geometry: str | None = None,
        wall_seconds: float | None = None,
        **options: Any,
    ) -> Score:
        """Generated showers against the reference: ``showers.npy`` in an output folder against
        the organiser folder of :meth:`write_inputs`, or an official HDF5 file against a reference
        HDF5 file. Classifier AUC / JSD (low and high level), FPD, KPD, separation powers.

        ``wall_seconds``: the wall time the host measured for the sandboxed run that wrote the
        folder; with it, the run's ``timing.json`` is checked and its generation time reported
        as ``ms_per_shower`` (ms per shower, as the baselines report it). Without it (an output
        folder scored outside a sandbox) no generation time is reported."""
        check_options(self, options, ())
        _check_score_options(classifier, n_runs, plots)
        if truth is None:
            raise ValueError("calo scoring needs the reference showers (an HDF5 file or the organiser folder)")
        outputs, truth = Path(outputs), Path(truth)
        if outputs.is_dir():
            from .submission import score_outputs

            # An output folder is scored as its phase says (reference.json): no option overrides it.
            ignored = [name for name, value in (("plots", plots), ("geometry", geometry)) if value is not None]
            ignored += ["n_runs"] if n_runs != 1 else []
            if ignored:
                raise ValueError(
                    f"option {', '.join(ignored)}: applies to an HDF5 file scored against a reference file; "
                    f"{outputs} is an output folder, scored as its phase's reference.json says"
                )

            showers = self.read_outputs(outputs, truth)
            timing = (
                self.check_run_outputs(outputs, showers, wall_seconds=float(wall_seconds))
                if wall_seconds is not None
                else {}
            )
            result = score_outputs(showers, truth)
            metrics = result.pop("metrics")
            if timing:
                metrics["ms_per_shower"] = timing["generation_timing"]["ms_per_shower"]
            return Score(self.id, metrics=metrics, details={**result, **timing})
        if wall_seconds is not None:
            raise ValueError("wall_seconds applies to the output folder of a sandboxed run, not to an HDF5 file")
        from ...output import console
        from .evaluation import score_files

        with console.status(f"scoring {outputs} against {truth}", spinner="dots"):
            result = score_files(
                outputs, truth, classifier=classifier, n_runs=int(n_runs), plots=plots, geometry=geometry
            )
        metric_names = ("auc_low", "auc_high", "jsd_low", "jsd_high", "fpd", "kpd", "separation_power_mean")
        metrics = {k: result[k] for k in result if k in metric_names or k.endswith(("_std", "_err"))}
        errors = {
            "auc_low": result.get("auc_low_std"),
            "auc_high": result.get("auc_high_std"),
            "fpd": result.get("fpd_err"),
            "kpd": result.get("kpd_err"),
        }
        details = {k: v for k, v in result.items() if k not in metrics}
        return Score(self.id, metrics=metrics, errors=errors, details=details)

    def phase_metrics(self, outputs: Mapping[str, Path], truth: Path) -> PhaseMetrics:
        """The multiclass score of every submission of a phase (``multiclass_log_posterior``),
        with the matrix as ``multiclass.json`` and ``multiclass.png``; undefined (None) while
        fewer than two submissions are scored."""
        from .submission import phase_multiclass

        return phase_multiclass(outputs, truth)

    # -- display --------------------------------------------------------------------------------
    def table(self, title: str, records: Any) -> Any:
        from .run import calo_metrics_table

        return calo_metrics_table(title, records)


def _run_one(
    method: str,
    preset: str,
    seed: int,
    data_dir: Path | None,
    size: str | None,
    device: str,
    geometry: str,
    classifier: str,
    checkpoint: Path | None = None,
    resume: bool = False,
    epochs: int | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """One generator as a task of a Dask map (a plain function, so it pickles)."""
    return CHALLENGE.run_generator(
        method,
        preset=preset,
        seed=seed,
        data_dir=data_dir,
        size=size,
        device=device,
        geometry=geometry,
        classifier=classifier,
        checkpoint=checkpoint,
        resume=resume,
        keep_checkpoint=True,
        epochs=epochs,
    )


CHALLENGE = CaloFastSimulation()


def _check_score_options(classifier: Any, n_runs: Any, plots: Any) -> None:
    """The scoring options, checked before any work (a bad one found after the classifier
    trained would lose its result)."""
    from ...scoring.calo import CLASSIFIER_SIZES

    if not isinstance(classifier, str) or classifier not in CLASSIFIER_SIZES:
        raise ValueError(f"option classifier: one of {sorted(CLASSIFIER_SIZES)}, got {classifier!r}")
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise ValueError(f"option n_runs: a whole number of at least 1, got {n_runs!r}")
    if plots is not None and Path(plots).exists() and not Path(plots).is_dir():
        raise ValueError(f"option plots: {plots} is a file; plots go into a folder")
