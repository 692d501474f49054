"""Calorimeter fast simulation as a :class:`~hepbench.challenges.base.Challenge`: reference
showers, generators, submissions and the one scorer (classifier AUC / JSD, FPD, KPD, separation
powers)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ...records import Score
from ..base import Challenge, MetricColumn, RankingMetric, check_options

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
    )
    input_options = ("preset", "seed", "geometry", "data_dir")
    baseline_registry = "hepbench.baselines.calo.registry:BASELINES"
    score_options = ("classifier", "n_runs", "plots", "geometry")

    # -- data -----------------------------------------------------------------------------------
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None) -> dict[str, Any]:
        import time

        from .dataset import generate_dataset

        start = time.perf_counter()
        written = generate_dataset(preset, seed, out)
        return {
            "files": written,
            "file_columns": ["geometry", "n_showers", "n_voxels"],
            "seconds": time.perf_counter() - start,
        }

    def load(self, folder: Path) -> Path:
        """The folder itself: each geometry's split is read when used (``dataset.load_split``)."""
        return Path(folder)

    def is_generated(self, folder: Path) -> bool:
        """Whether ``folder`` holds a train and a test file of at least one geometry (a preset's
        full set is checked by :meth:`ensure_data`, which knows the preset's geometries)."""
        folder = Path(folder)
        return any((folder / path.name.replace("_train.", "_test.")).exists() for path in folder.glob("*_train.hdf5"))

    def ensure_data(self, preset: str, seed: int, data_dir: Path | None = None, **options: Any) -> Path:
        from ...output import console
        from .dataset import file_name, generate_dataset, get_calo_preset

        target = Path(data_dir) if data_dir is not None else self.data_dir(preset, seed)
        geometries = list(get_calo_preset(preset).showers)
        if not all((target / file_name(g, s)).exists() for g in geometries for s in ("train", "test")):
            with console.status(f"simulating calo preset {preset!r} (seed {seed}) into {target}", spinner="dots"):
                generate_dataset(preset, seed, target)
        return target

    def validate_data(self, real: Path | None, out: Path, *, seed: int = 1, **options: Any) -> dict[str, Any]:
        """Physics checks of the simulator for data sets 1 (photons) and 2, with plots under ``out``."""
        from ...output import console
        from .physics import physics_report

        results, rows = {}, []
        for geometry in ("ds1-photons", "ds2"):
            with console.status(f"physics checks for {geometry}", spinner="dots"):
                results[geometry] = report = physics_report(geometry, out, seed=seed)
            m, c, r = report["shower_maximum"], report["containment"], report["resolution"]
            rows.append(
                {
                    "geometry": report["geometry"],
                    "material": report["material"],
                    "t_max X0 per ln(E/Ec)": m["slope_x0_per_ln_y"],
                    "within 1 Rm": f"{min(c['within_1_rm']):.3f}..{max(c['within_1_rm']):.3f}",
                    "a / sqrt(E)": r["a_sqrt_gev"],
                    "b": r["b_constant"],
                    "a input": r["a_input_sqrt_gev"],
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
        **options: Any,
    ) -> dict[str, Any]:
        """Train ``method`` on one geometry of the preset (default its first) and evaluate it; the
        record (``generated_showers`` kept out of it: see :meth:`run_generator`)."""
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
        )
        return record

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
    ) -> tuple[dict[str, Any], np.ndarray]:
        """(record, generated showers) of ``method`` trained on one geometry of the preset."""
        from ...output import console
        from ...torch_common import resolve_device
        from .dataset import get_calo_preset
        from .run import run_generator

        baseline = self.baseline(method)
        resolved = resolve_device(device)
        folder = self.ensure_data(preset, seed, data_dir)
        if geometry not in get_calo_preset(preset).showers:
            raise ValueError(
                f"preset {preset!r} has no {geometry!r} showers; it has {list(get_calo_preset(preset).showers)}"
            )
        model_seed = seed if model_seed is None else model_seed
        console.print(f"[bold]{method}[/bold] on {geometry}: training ({resolved})")
        record, generated = run_generator(
            method,
            baseline.factory(size or preset, resolved, model_seed),
            folder,
            geometry,
            classifier=classifier,
            device=resolved,
            seed=model_seed,
            out=out,
        )
        record["size"] = size or preset
        return record, generated

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
        **options: Any,
    ) -> list[dict[str, Any]]:
        """Every generator on each geometry of the preset: metrics, multiclass scores, Markdown."""
        from ...output import console, write_json
        from ...parallel import dask_client, map_tasks
        from ...torch_common import resolve_device
        from ..sections import write_section
        from .dataset import get_calo_preset
        from .run import calo_markdown, multiclass_table

        if resume:
            raise ValueError("--resume is not available for calo comparisons")
        folder = self.ensure_data(preset, seed, data)
        geometries = [geometry] if geometry else list(get_calo_preset(preset).showers)
        records: list[dict[str, Any]] = []
        multiclass_by_geometry: dict[str, dict[str, float]] = {}
        for geo in geometries:
            tasks = [(m, preset, seed, folder, size, device, geo, classifier) for m in names]
            with dask_client(scheduler if len(tasks) > 1 else "serial", workers) as client:
                done = map_tasks(_run_one, tasks, client=client, progress=progress, description=f"{geo} generators")
            multiclass = (
                multiclass_table(
                    folder,
                    geo,
                    {r["method"]: g for r, g in done},
                    classifier=classifier,
                    seed=seed,
                    device=resolve_device(device),
                )
                if len(done) > 1
                else {}
            )
            geo_records = [r for r, _ in done]
            for r in geo_records:
                if r["method"] in multiclass:
                    r["metrics"]["multiclass_log_posterior"] = multiclass[r["method"]]
            records += geo_records
            multiclass_by_geometry[geo] = multiclass
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
                )
                console.print(f"wrote the calo {geo} section of {write_section(markdown, section)}")
        return records

    # -- submissions ----------------------------------------------------------------------------
    def write_inputs(self, input_dir: Path, organiser_dir: Path, **options: Any) -> dict[str, Any]:
        from .submission import write_inputs

        return write_inputs(input_dir, organiser_dir, **options)

    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> Any:
        from .submission import read_and_validate_outputs

        return read_and_validate_outputs(output_dir, organiser_dir)

    def describe_outputs(self, outputs: Any) -> str:
        return f"{len(outputs)} showers of {outputs.shape[1]} voxels, schema valid"

    def score(
        self,
        outputs: Path,
        truth: Path | None,
        *,
        classifier: str = "small",
        n_runs: int = 1,
        plots: Path | None = None,
        geometry: str | None = None,
        **options: Any,
    ) -> Score:
        """Generated showers against the reference: ``showers.npy`` in an output folder against
        the organiser folder of :meth:`write_inputs`, or an official HDF5 file against a reference
        HDF5 file. Classifier AUC / JSD (low and high level), FPD, KPD, separation powers."""
        check_options(self, options, ())
        if truth is None:
            raise ValueError("calo scoring needs the reference showers (an HDF5 file or the organiser folder)")
        outputs, truth = Path(outputs), Path(truth)
        if outputs.is_dir():
            from .submission import score_outputs

            result = score_outputs(self.read_outputs(outputs, truth), truth)
            return Score(self.id, metrics=result.pop("metrics"), details=result)
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
    )


CHALLENGE = CaloFastSimulation()
