"""Scoring one submission payload for the leaderboard: the challenge's own scorer
(:meth:`hepbench.challenges.base.Challenge.score`), its metrics with their errors, and artefacts
(plots, JSON) for the submission's page.

A phase with hidden truth (``hepbench leaderboard phase CHALLENGE PHASE --truth PATH``) scores
the payload (answers, or a folder of outputs) against it. Without one, a phase accepts baseline
run records only: the challenge rescores what the record keeps (a HiggsML record's
pseudo-experiments) or takes the metrics as the host that ran the baseline reported them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..challenges import get
from ..output import JsonFileError, dumps, read_json
from ..records import Score, finite, records_in, validate_record
from ..submission_kit.sandbox.limits import Limits

N_BOOTSTRAP = 1000


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    error: float | None = None


@dataclass(frozen=True)
class Artefact:
    name: str
    kind: str
    title: str
    content: bytes
    truth: bool = False
    """Derived from the phase's hidden truth: kept from the public until the phase closes."""


@dataclass
class Scored:
    """A scored payload as the leaderboard stores it: metric rows and artefact files."""

    metrics: list[Metric] = field(default_factory=list)
    artefacts: list[Artefact] = field(default_factory=list)
    kept: list[Artefact] = field(default_factory=list)
    """Output files the organiser keeps (never published): the challenge's ``kept_outputs``, for
    metrics over all submissions of a phase (:func:`hepbench.leaderboard.phase_metrics.refresh`)."""


class PayloadError(ValueError):
    """A payload that cannot be scored (the message names the file and the field)."""


class RunFailed(RuntimeError):
    """The sandboxed run gave nothing to score (timeout, out of memory, crash, invalid outputs);
    the message is the sandbox's status and reason, shown to the participant as it is."""


def read_record(path: Path) -> dict[str, Any]:
    """The single run record in ``path`` (a baseline submission holds exactly one)."""
    try:
        found = records_in(read_json(path), str(path))
    except JsonFileError as err:  # RecordError included
        raise PayloadError(str(err)) from None
    if len(found) != 1:
        raise PayloadError(f"{path}: a submission holds one run record, found {len(found)}")
    return validate_record(found[0][1], str(path), found[0][0])


def check_payload(challenge: str, path: Path, truth_path: str | None) -> None:
    """Raise a clear error now (at submission) for a payload that scoring would reject."""
    declared = get(challenge)
    if truth_path is not None:
        from ..submission_kit.bundles import check_bundle, is_bundle, is_image_tar

        if is_bundle(path):
            check_bundle(path)
        elif is_image_tar(path):
            from ..submission_kit.sandbox.container import tar_tags

            tar_tags(path)  # a readable image tar (its tags are checked again when it is loaded)
        else:
            declared.check_submission(Path(path), Path(truth_path))
    else:
        record = read_record(Path(path))
        if record["challenge"] != challenge:
            raise PayloadError(f"{path}: a {record['challenge']!r} record submitted to {challenge!r}")


def _json_artefact(name: str, title: str, payload: Any, *, truth: bool = False) -> Artefact:
    return Artefact(name, "json", title, (dumps(payload, indent=1, sort_keys=True) + "\n").encode(), truth)


def _stored(challenge: str, score: Score) -> list[Metric]:
    declared = get(challenge)
    shown = [m.name for m in declared.ranking] + [c.name for c in declared.columns]
    names = shown + [n for n in ("n_pseudo_experiments",) if n in score.metrics and n not in shown]
    return [Metric(n, finite(score.metrics[n]), finite(score.errors.get(n))) for n in names if n in score.metrics]


def _sandboxed(
    challenge: str, bundle: Path, truth: Path, backend: str, limits: Limits
) -> tuple[Score, dict[str, Any], Path]:
    """Run a code bundle (in ``backend``) or an image tar (in docker) in the sandbox on the
    phase's inputs under ``limits``; its score, the run's outcome and the folder of its outputs."""
    import tempfile

    from ..submission_kit.bundles import is_image_tar, unpack_bundle
    from ..submission_kit.runner import Payload, run_submission
    from ..submission_kit.sandbox import backend_named
    from ..submission_kit.sandbox.workspace import make_run_root

    inputs = truth.parent / "input"
    if not truth.is_dir() or not inputs.is_dir():
        raise PayloadError(
            f"{truth}: code submissions need a phase prepared with `hepbench submission prepare` "
            "(its organiser folder, beside the phase's input folder)"
        )
    declared = get(challenge)
    n_bootstrap = N_BOOTSTRAP if "n_bootstrap" in declared.score_options else 200
    run_dir = make_run_root(None, prefix=f"{challenge}-leaderboard-")
    with tempfile.TemporaryDirectory(prefix="hepbench-bundle-") as tmp:
        if is_image_tar(bundle):
            from ..submission_kit.sandbox.container import ContainerBackend, docker_client, load_image_tar

            client = docker_client()
            image = load_image_tar(client, bundle)
            runner, payload = ContainerBackend(image, client=client), Payload("image", image=image, image_tar=bundle)
        else:
            code = unpack_bundle(bundle, Path(tmp) / "code")
            runner, payload = backend_named(backend), Payload("code", code_dir=code)
        record = run_submission(
            challenge,
            runner,
            payload,
            run_dir=run_dir,
            limits=limits,
            input_dir=inputs,
            organiser_dir=truth,
            n_bootstrap=n_bootstrap,
        )
    if record["status"] != "ok":
        raise RunFailed(f"{record['status']}: {record.get('reason', '')}")
    from .plots import PLOTTERS as PLOTTED

    run = record["score"]
    outcome = {k: record["outcome"].get(k) for k in ("wall_seconds", "peak_memory_bytes", "exit_code")}
    if run.get("generation_timing"):  # calo: the time measured inside the sandbox, checked against the wall time
        outcome["generation_timing"] = run["generation_timing"]
    return (
        Score(
            challenge,
            metrics=run["metrics"],
            errors=run.get("errors") or {},
            details={key: run[key] for key in PLOTTED if run.get(key)},
            failures=run.get("failures") or [],
        ),
        {"backend": record["backend"], **outcome},
        Path(record["run_dir"]) / "output",
    )


def score_payload(
    challenge: str,
    path: Path,
    truth_path: str | None,
    label: str,
    *,
    backend: str = "bubblewrap",
    limits: Limits | None = None,
) -> Scored:
    """Score the payload at ``path`` for ``challenge``; ``label`` titles the plots. A code
    bundle (``.tar.gz``, ``.zip``) runs in the ``backend`` sandbox on the phase's inputs first,
    an image tar (``docker save``, ``.tar``) in the docker sandbox, under ``limits`` (the
    phase's; default: the sandbox's defaults)."""
    from ..submission_kit.bundles import is_bundle, is_image_tar

    declared = get(challenge)
    path = Path(path)
    run: dict[str, Any] | None = None
    outputs: Path | None = None
    if truth_path is not None:
        if not Path(truth_path).exists():
            raise FileNotFoundError(f"{truth_path}: the phase's hidden truth is missing")
        if is_bundle(path) or is_image_tar(path):
            score, run, outputs = _sandboxed(challenge, path, Path(truth_path), backend, limits or Limits())
        else:
            score = declared.score(
                path,
                Path(truth_path),
                **({"n_bootstrap": N_BOOTSTRAP} if "n_bootstrap" in declared.score_options else {}),
            )
            outputs = path if path.is_dir() else None
        record = None
    else:
        record = read_record(path)
        if record["challenge"] != challenge:
            raise PayloadError(f"{path}: a {record['challenge']!r} record submitted to {challenge!r}")
        score = declared.score_record(path, record)
    scored = Scored(metrics=_stored(challenge, score))
    summary = {k: v for k, v in score.metrics.items()}
    scored.artefacts.append(
        _json_artefact(
            "score.json",
            "Every metric with its errors",
            {"metrics": summary, "errors": score.errors, "failures": score.failures},
        )
    )
    from . import plots

    plotted = [key for key in plots.PLOTTERS if score.details.get(key)]
    for key in plotted:
        data_title, draw = plots.PLOTTERS[key]
        scored.artefacts += [
            Artefact(name, "plot", title, png, True) for name, title, png in draw(score.details[key], label)
        ]
        scored.artefacts.append(_json_artefact(f"{key}.json", data_title, score.details[key], truth=True))
    if record is not None and not plotted:
        scored.artefacts.append(_json_artefact("record.json", "The run record", record))
    if run is not None:
        scored.artefacts.append(
            _json_artefact(
                "sandbox.json", "The sandboxed run: backend, wall time, peak memory (calo: generation timing)", run
            )
        )
    for name in declared.kept_outputs if outputs is not None else ():
        if (outputs / name).is_file():
            scored.kept.append(
                Artefact(name, "output", f"{name} as the submission wrote it", (outputs / name).read_bytes())
            )
    return scored


__all__ = ["Artefact", "Metric", "PayloadError", "Scored", "check_payload", "read_record", "score_payload"]
