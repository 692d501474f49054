"""The Challenge interface: everything a challenge is, in one abstract class.

A challenge declares what the leaderboard shows (id, title, ranking metrics and columns, presets,
phases), makes and loads its data, names its baselines (lazily: ``"module:attribute"``), runs one
baseline into a run record, adapts submissions (public inputs for a sandbox, validated outputs)
and scores them: :meth:`Challenge.score` is the only scorer, used by ``hepbench score``,
``hepbench submission run`` and the leaderboard's workers.

Built-in challenges are listed in :mod:`hepbench.challenges`; other packages add theirs through
the entry-point group ``hepbench.challenges`` (a name -> a ``Challenge`` instance or class).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..records import RecordError, Score
from .outputs import OutputError

if TYPE_CHECKING:
    from ..baselines.base import Baseline
    from .export import UnbinnedSet

DEFAULT_DATA_ROOT = Path("hepbench-data")
"""Where generated data sets go unless a command says otherwise (relative to the working directory)."""


@dataclass(frozen=True)
class RankingMetric:
    name: str
    higher_is_better: bool
    description: str
    label: str = ""
    """Column heading on the leaderboard (default: the name)."""


@dataclass(frozen=True)
class MetricColumn:
    """A metric the leaderboard shows beside the ranking metrics (it does not rank)."""

    name: str
    label: str
    fmt: str = ".3f"
    note: str = ""
    """What the column means, printed under the leaderboard (when a value may be undefined, say why)."""


@dataclass
class PhaseMetrics:
    """What :meth:`Challenge.phase_metrics` returns: label -> metric name -> value (None where
    undefined), and files for every submission's page: name (``.json`` or ``.png``) -> (title, content)."""

    metrics: dict[str, dict[str, float | None]]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class Phase:
    """A test split of a challenge. A hidden phase's scores stay hidden until the organiser
    reveals them (``hepbench leaderboard phase CHALLENGE hidden --reveal``)."""

    slug: str
    title: str
    hidden: bool = False


DEFAULT_PHASES = (Phase("public", "Public test"), Phase("hidden", "Hidden test", hidden=True))


class Challenge(abc.ABC):
    """One challenge. Subclasses set the class attributes and implement the abstract methods.

    Heavy libraries (torch, xgboost, the baselines) are imported inside methods, never at module
    import, so that listing challenges and ``hepbench --help`` stay fast.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    metric_notes: ClassVar[str] = ""
    """How the leaderboard's metrics are measured and what their errors mean, in a few plain
    sentences: shown under the challenge's description on its leaderboard pages."""
    presets: ClassVar[tuple[str, ...]] = ("tiny", "small", "full")
    model_sizes: ClassVar[Mapping[str, str]] = {}
    """Model configuration (``--size``) of a preset whose name is not one, e.g. a larger training
    split trained with the ``full`` models; other presets use the configuration of their name."""
    ranking: ClassVar[tuple[RankingMetric, ...]]
    """Primary metric first, then the tie-breakers."""
    columns: ClassVar[tuple[MetricColumn, ...]] = ()
    """Further metrics shown on the leaderboard."""
    phases: ClassVar[tuple[Phase, ...]] = DEFAULT_PHASES
    baseline_registry: ClassVar[str | None] = None
    """``"module:attribute"`` of the dict name -> :class:`~hepbench.baselines.base.Baseline`."""
    template_package: ClassVar[str] = "hepbench.submission_kit"
    """Package holding ``templates/<id>/`` (Dockerfile, entrypoint.py, model.py, README.md)."""
    sandbox_modules: ClassVar[tuple[str, ...]] = ()
    """Modules (dotted names, numpy / pandas only, relative imports among themselves) staged
    next to a code submission's entrypoint as the package ``_hepbench``: the sandbox has no
    hepbench, but the entrypoint's adapters may need some of it."""
    input_options: ClassVar[tuple[str, ...]] = ("preset", "seed", "data_dir")
    """Names of the keyword options :meth:`write_inputs` accepts."""
    validate_options: ClassVar[Mapping[str, Any]] = {"preset": "tiny"}
    """Input options of ``hepbench submission validate`` (tiny inputs, checks the outputs' schema only)."""
    score_options: ClassVar[tuple[str, ...]] = ()
    """Names of the keyword options :meth:`score` accepts (``hepbench score --option NAME=VALUE``)."""
    kept_outputs: ClassVar[tuple[str, ...]] = ()
    """Output files of a scored submission that the leaderboard keeps on the organiser's side for
    :meth:`phase_metrics`."""
    summary_metrics: ClassVar[tuple[str, ...] | None] = None
    """Metrics averaged over training seeds (default: the ranking metrics)."""
    tune_objective: ClassVar[RankingMetric | None] = None
    """The validation metric ``hepbench baseline tune`` optimises (:meth:`validation_objective`);
    None when the challenge cannot be tuned."""

    # -- data ---------------------------------------------------------------------------------
    def data_dir(self, preset: str, seed: int, given: str | Path | None = None) -> Path:
        """The data folder of a run: ``given`` (a ``--data`` folder) when set, else the default
        folder of a generated data set, ``hepbench-data/ID/PRESET-seedSEED``."""
        if given is not None:
            return Path(given)
        return DEFAULT_DATA_ROOT / self.id / f"{preset}-seed{seed}"

    def model_size(self, preset: str, size: str | None = None) -> str:
        """The model configuration of a run: ``size`` when given, else the preset's."""
        return size or self.model_sizes.get(preset, preset)

    def check_preset(self, preset: str) -> None:
        if preset not in self.presets:
            raise ValueError(f"unknown preset {preset!r} for {self.id}; known: {list(self.presets)}")

    @abc.abstractmethod
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None, **options: Any) -> dict[str, Any]:
        """Generate the preset's data set into ``out`` (files with sidecars: generator version,
        seed, sha256); ``options`` are the challenge's own (lhco: ``constituents``). Returns a JSON-ready summary (``files``: name -> counts, and optionally
        ``file_columns``: which of those the command-line table shows)."""

    @abc.abstractmethod
    def load(self, folder: Path) -> Any:
        """The data set written by :meth:`generate` (checksums verified)."""

    @abc.abstractmethod
    def is_generated(self, folder: Path) -> bool:
        """Whether ``folder`` holds a complete data set."""

    def holds_data(self, folder: Path) -> bool:
        """Whether ``folder`` holds a data set (:meth:`is_generated`); ``False`` when it is absent
        or empty. Any other folder raises a one-line ``DataFileError``: nothing is generated into
        a folder of files hepbench did not write (e.g. downloaded official files)."""
        from ..datafiles import require_data_folder

        return require_data_folder(folder, self.is_generated, self.id)

    def data_generator_version(self, folder: Path | None) -> str | None:
        """The generator version written in the sidecars of the data folder ``folder`` (several,
        comma-separated, when its files disagree); ``None`` for imported official data or no
        folder. Baseline records carry it, so a number names the generator of its data and
        ``--resume`` never mixes versions."""
        import json

        if folder is None or not Path(folder).is_dir():
            return None
        versions = set()
        for sidecar in Path(folder).glob("*.json"):
            try:
                meta = json.loads(sidecar.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and meta.get("generator_version") is not None:
                versions.add(str(meta["generator_version"]))
        return ",".join(sorted(versions)) or None

    def import_official(self, official: Path, out: Path, **options: Any) -> dict[str, Any]:
        """Turn official data files into a data folder ``out`` laid out as :meth:`generate` writes
        it (the anchor's split where it defines one); returns the same kind of summary.
        ``options``: the challenge's :attr:`import_options`."""
        if self.official_importer is None:
            raise ValueError(f"{self.id} has no official data to import")
        from ..baselines.base import resolve

        check_options(self, options, self.import_options)
        return dict(resolve(self.official_importer)(official, out, **options))

    official_importer: ClassVar[str | None] = None
    """``"module:function"`` ``(official, out, **options) -> summary`` behind :meth:`import_official`."""

    import_options: ClassVar[tuple[str, ...]] = ()
    """Names of the keyword options :meth:`import_official` accepts."""

    data_options: ClassVar[tuple[str, ...]] = ()
    """Names of the run options :meth:`ensure_data` also takes (lhco: ``real``; calo: ``geometry``,
    the one geometry a run needs)."""

    def ensure_data(self, preset: str, seed: int, data_dir: Path | None = None, **options: Any) -> Any:
        """The data set in ``data_dir`` (default :meth:`data_dir`), generated there when absent
        (``options``: a challenge's other sources of data, e.g. lhco's ``real``)."""
        from ..output import console

        self.check_preset(preset)
        target = self.data_dir(preset, seed, data_dir)
        if not self.holds_data(target):
            with console.status(f"generating {self.id} preset {preset!r} (seed {seed}) into {target}", spinner="dots"):
                self.generate(preset, seed, target)
        return self.load(target)

    def unbinned_sets(self, folder: Path) -> dict[str, Callable[[], UnbinnedSet]]:
        """Each data set of the generated ``folder`` by name, read with its systematic variations
        when its loader is called, for ``hepbench data export --unbinned``
        (:mod:`hepbench.challenges.export`). The names come without reading any data."""
        if self.unbinned_export is None:
            raise ValueError(f"{self.id} has no unbinned export")
        from ..baselines.base import resolve

        return resolve(self.unbinned_export)(folder)

    unbinned_export: ClassVar[str | None] = None
    """``"module:function"`` ``(folder) -> {name: loader of UnbinnedSet}`` behind :meth:`unbinned_sets`."""

    def validate_data(self, real: Path | None, out: Path, *, seed: int = 1, **options: Any) -> dict[str, Any]:
        """Compare generated events with real simulation (tables and plots under ``out``)."""
        raise ValueError(f"{self.id} has no validation against real simulation")

    # -- baselines ----------------------------------------------------------------------------
    def baselines(self) -> dict[str, Baseline]:
        """name -> baseline, imported on first use (empty when the challenge has none)."""
        if self.baseline_registry is None:
            return {}
        from ..baselines.base import resolve

        return dict(resolve(self.baseline_registry))

    def baseline(self, name: str) -> Baseline:
        methods = self.baselines()
        if name not in methods:
            raise ValueError(f"unknown baseline {name!r} for {self.id}; known: {sorted(methods)}")
        return methods[name]

    def studies(self) -> dict[str, str]:
        """Studies ``hepbench baseline run`` runs besides the baselines: name -> description."""
        return {}

    def comparison_methods(self) -> tuple[str, ...]:
        """The baselines ``hepbench baseline compare`` runs by default."""
        return tuple(self.baselines())

    @abc.abstractmethod
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
        **options: Any,
    ) -> dict[str, Any]:
        """Train ``method`` on the preset's data (seed ``seed``; training seed ``model_seed``,
        default ``seed``), evaluate and score it; the run record (:mod:`hepbench.records`).
        ``scheduler`` / ``workers``: where a challenge spreads the evaluation of one training."""

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
        """Train ``method`` with the hyperparameter overrides ``params`` on part of the preset's
        training data and score it on the rest (or on an independent validation sample); the
        metrics, among them :attr:`tune_objective`. Never reads the test data."""
        raise ValueError(f"{self.id} has no validation objective to tune on")

    def run_seeds_summary(
        self,
        method: str,
        seeds: Sequence[int],
        *,
        scheduler: str = "local",
        workers: int | None = None,
        progress: bool = True,
        **options: Any,
    ) -> dict[str, Any]:
        """``method`` trained once per seed of ``seeds`` on the same data, one training per worker
        of ``scheduler``; the records (named ``METHOD (seed S)``) with their mean and spread."""
        import numpy as np

        from ..checkpoints import remove_empty_folders
        from ..parallel import dask_client, map_tasks

        self.ensure_data(
            options.get("preset", "small"),
            options.get("seed", 0),
            options.get("data_dir"),
            **{k: v for k, v in options.items() if k in self.data_options},
        )

        def seed_options(s: int) -> dict[str, Any]:
            # Each training keeps its own checkpoint (a subfolder per seed).
            own = {"checkpoint": Path(options["checkpoint"]) / f"model-seed-{s}"} if options.get("checkpoint") else {}
            return {**options, **own, "model_seed": s, "progress": False}

        tasks = [(self.id, method, seed_options(s)) for s in seeds]
        with dask_client(scheduler, workers) as client:
            records = map_tasks(run_task, tasks, client=client, progress=progress, description="trainings")
        remove_empty_folders(options.get("checkpoint"))  # each seed's subfolder went with its record
        for record in records:
            record["method"] = f"{method} (seed {record['model_seed']})"
        summary = {}
        for key in self.summary_metrics or tuple(m.name for m in self.ranking):
            values = np.array([r["metrics"][key] for r in records if key in r["metrics"]], dtype=float)
            if len(values):
                summary[key] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                }
        return {
            "challenge": self.id,
            "method": method,
            "model_seeds": list(seeds),
            "summary": summary,
            "results": records,
        }

    def compare(self, names: list[str], **options: Any) -> list[dict[str, Any]]:
        """Every baseline of ``names`` on the same data; table, JSON (``json_path``), Markdown."""
        raise ValueError(f"{self.id} has no comparison")

    def demo_options(self, preset: str, seed: int, **overrides: Any) -> tuple[dict[str, Any], str]:
        """Options of :meth:`run_baseline` for ``hepbench demo`` (its ``in_demo`` baselines) and a
        note for the table's title; ``overrides`` are the demo's own options (a challenge takes
        those it knows)."""
        return {"size": preset}, preset

    def run_demo(self, methods: list[str], **options: Any) -> list[dict[str, Any]]:
        """The run records of ``hepbench demo``: :meth:`run_baseline` of each method with
        ``options``; a challenge whose metrics compare several methods at once (calo's
        multiclass score) adds them here."""
        return [self.run_baseline(method, **options) for method in methods]

    demo_hidden: ClassVar[tuple[str, ...]] = ()
    """Bulky fields of a run record left out of the demo's JSON."""

    def run_study(
        self, name: str, *, preset: str, seed: int, data_dir: Path | None, size: str, out: Path, progress: bool
    ) -> dict[str, Any]:
        raise ValueError(f"{self.id} has no study {name!r}")

    # -- submissions --------------------------------------------------------------------------
    @abc.abstractmethod
    def write_inputs(self, input_dir: Path, organiser_dir: Path, **options: Any) -> dict[str, Any]:
        """Write the public inputs of a submission run to ``input_dir`` and the truth to
        ``organiser_dir`` (mode 0700); returns a summary of what was written."""

    @abc.abstractmethod
    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> Any:
        """A submission's outputs, validated against the inputs, or :class:`OutputError`."""

    def describe_outputs(self, outputs: Any) -> str:
        """One line on validated outputs, for the run record."""
        return "outputs valid"

    def check_run_outputs(self, output_dir: Path, outputs: Any, *, wall_seconds: float) -> dict[str, Any]:
        """Checks of what a sandboxed run wrote beside its answers (``outputs``: what
        :meth:`read_outputs` returned) against what the host measured: ``wall_seconds``, the
        sandbox's wall time. Raises ``OutputError`` naming the file and the field; returns
        JSON-ready entries for the run record's validation (none by default)."""
        return {}

    def template_dir(self) -> Path:
        from importlib import resources

        return Path(str(resources.files(self.template_package) / "templates" / self.id))

    @abc.abstractmethod
    def score(self, outputs: Path, truth: Path | None, **options: Any) -> Score:
        """THE scorer: the submission's ``outputs`` (the folder a sandboxed run wrote, or a file
        the challenge's documentation names) against the hidden ``truth`` (the organiser folder
        :meth:`write_inputs` wrote, or a truth file). Raises :class:`OutputError` for outputs
        that cannot be scored at all."""

    def phase_metrics(self, outputs: Mapping[str, Path], truth: Path) -> PhaseMetrics | None:
        """Metrics that compare the scored submissions of one phase with each other, recomputed by
        the leaderboard whenever one more is scored: ``outputs`` maps a submission's label to the
        folder of its :attr:`kept_outputs`; ``truth`` is the phase's organiser folder. None when the
        challenge has no such metric."""
        return None

    def check_truth(self, truth: Path) -> None:  # noqa: B027  (an optional hook)
        """Check a phase's hidden truth (``leaderboard phase --plan``) before it is stored;
        ValueError naming the file and the field."""

    def check_submission(self, outputs: Path, truth: Path | None = None) -> None:  # noqa: B027  (an optional hook)
        """Cheap checks of a submitted payload before it is queued (errors name the file and the
        field); ``truth``: the phase's hidden truth, for checks against it (the payload's shape).
        The full validation happens when it is scored."""

    def check_record(self, record: dict[str, Any], where: str, at: str) -> None:  # noqa: B027  (an optional hook)
        """Challenge-specific checks of a run record (:func:`hepbench.records.validate_record`)."""

    def score_record(self, record_path: Path, record: dict[str, Any]) -> Score:
        """A baseline run record scored where it ran: its metrics as reported."""
        return Score.from_record(record)

    # -- display ------------------------------------------------------------------------------
    def table_columns(self) -> list[tuple[str, str, str]]:
        """(metric, heading, format) of the rows of :meth:`table`: ranking metrics, then columns."""
        out = [(m.name, m.label or m.name, ".3f") for m in self.ranking]
        out += [(c.name, c.label, c.fmt) for c in self.columns]
        return out

    def table(self, title: str, records: Sequence[Mapping[str, Any]]) -> Any:
        """A rich table of run records, one row per record (wide tables wrap)."""
        from rich.table import Table

        table = Table(title=title)
        table.add_column("method", no_wrap=True)
        columns = self.table_columns()
        for _, heading, _ in columns:
            table.add_column(heading, justify="right")
        for r in records:
            metrics = {**r, **r.get("metrics", {})}
            table.add_row(r["method"], *(_fmt(metrics.get(name), fmt) for name, _, fmt in columns))
        return table


def run_task(challenge_id: str, method: str, options: dict[str, Any]) -> dict[str, Any]:
    """One baseline run as a task of a Dask map (a plain function of picklable arguments)."""
    from . import get

    return get(challenge_id).run_baseline(method, **options)


def objective_task(challenge_id: str, method: str, params: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One tuning trial as a task of a Dask map: ``{"metrics": ..., "seconds": ...}``."""
    import time

    from . import get

    start = time.perf_counter()
    metrics = get(challenge_id).validation_objective(method, params, **options)
    return {"metrics": metrics, "seconds": time.perf_counter() - start}


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "-"
    try:
        return format(value, fmt)
    except (TypeError, ValueError):
        return str(value)


def check_options(challenge: Challenge, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{challenge.id}: unknown option(s) {unknown}; this challenge takes {sorted(allowed)}")


__all__ = [
    "Challenge",
    "DEFAULT_PHASES",
    "MetricColumn",
    "OutputError",
    "Phase",
    "PhaseMetrics",
    "RankingMetric",
    "RecordError",
    "Score",
    "check_options",
]
