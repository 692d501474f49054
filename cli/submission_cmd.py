"""``hepbench submission``: write a submission template, check it on tiny data, score it in a sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .. import challenges
from ..submission_kit.sandbox.limits import MIB, Limits
from .apps import ChallengeArg, JsonOption, app, handles_errors
from .output import console, printable, write_json

submission_app = typer.Typer(
    help="Write, check and score sandboxed submissions (containers or model.py).", no_args_is_help=True
)
app.add_typer(submission_app, name="submission")

SubmissionArg = Annotated[
    Path | None,
    typer.Argument(help="Submission folder: model.py (code), or a Dockerfile to build with --backend docker."),
]
BackendOption = Annotated[
    str, typer.Option(help="bubblewrap (code submissions) | docker (images, or code in the base image).")
]
ImageOption = Annotated[str | None, typer.Option("--image", help="Run this local image (docker backend).")]
ImageTarOption = Annotated[Path | None, typer.Option("--image-tar", help="`docker save` tar to load and run.")]
PullOption = Annotated[bool, typer.Option("--pull/--no-pull", help="Allow pulling a missing image from a registry.")]
BaseImageOption = Annotated[
    str, typer.Option("--base-image", help="Image for code submissions and Dockerfile builds (BASE_IMAGE).")
]
WallOption = Annotated[float, typer.Option("--wall-seconds", help="Wall-clock limit.")]
MemoryOption = Annotated[int, typer.Option("--memory-mb", help="Memory limit (MiB).")]
CpusOption = Annotated[float, typer.Option("--cpus", help="CPU limit (cores).")]
PidsOption = Annotated[int, typer.Option("--pids", help="Most processes / threads.")]
GpuOption = Annotated[bool, typer.Option("--gpu/--no-gpu", help="Give the container the host's GPUs.")]
RunsDirOption = Annotated[
    Path | None, typer.Option("--runs-dir", help="Where run folders go (default /var/tmp/hepbench-runs).")
]


def _base_image_default() -> str:
    from ..submission_kit.sandbox.runtime import RUNTIME_IMAGE_TAG

    return RUNTIME_IMAGE_TAG


def make_backend(
    challenge: str,
    submission: Path | None,
    backend: str,
    image: str | None,
    image_tar: Path | None,
    pull: bool,
    base_image: str,
):
    """The payload and the backend that runs it, from the command-line choices."""
    from ..submission_kit.runner import Payload

    if backend == "bubblewrap":
        from ..submission_kit.sandbox.bubblewrap import BubblewrapBackend

        if image or image_tar:
            raise ValueError("the bubblewrap backend runs code submissions (model.py); use --backend docker for images")
        if submission is None:
            raise ValueError("give the submission folder (with model.py)")
        return Payload("code", code_dir=submission), BubblewrapBackend()
    if backend != "docker":
        raise ValueError(f"unknown backend {backend!r}; choose bubblewrap or docker")
    from ..submission_kit.sandbox.container import ContainerBackend, docker_client, resolve_image

    client = docker_client()
    if image or image_tar:
        image_id = resolve_image(client, image, image_tar=image_tar, pull=pull)
        return Payload("image", image=image or image_id, image_tar=image_tar), ContainerBackend(image_id, client=client)
    if submission is None:
        raise ValueError("give a submission folder, --image or --image-tar")
    resolve_image(client, base_image, pull=pull)
    if (submission / "Dockerfile").is_file():  # built by run_submission, under the run's limits
        return Payload("dockerfile", code_dir=submission, image=base_image), ContainerBackend(base_image, client=client)
    return Payload("code", code_dir=submission), ContainerBackend(base_image, client=client)


def input_options(challenge: str, chosen: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """The options given on the command line (flag -> (name, value or None)) that the challenge's
    inputs take; ValueError naming a flag that does not apply to it."""
    accepted = challenges.get(challenge).input_options
    options = {}
    for flag, (name, value) in chosen.items():
        if value is None:
            continue
        if name not in accepted:
            raise ValueError(f"{flag} does not apply to {challenge} submissions")
        options[name] = value
    return options


def print_record(record: dict[str, Any]) -> None:
    outcome = record.get("outcome", {})
    table = Table(title=f"{record['challenge']} submission, {record['backend']} backend")
    table.add_column("field")
    table.add_column("value")
    peak = outcome.get("peak_memory_bytes")
    rows = [
        ("status", record["status"]),
        ("reason", record.get("reason", "")),
        ("exit code", str(outcome.get("exit_code"))),
        ("wall seconds (host)", f"{outcome.get('wall_seconds', 0):.2f}"),
        *([("build seconds", f"{record['build'].get('seconds', 0):.2f}")] if "build" in record else []),
        ("peak memory (host)", "n/a" if peak is None else f"{peak / MIB:.1f} MiB"),
        ("log bytes", str(outcome.get("log_bytes_total", 0))),
    ]
    if "validation" in record:
        rows.append(("output check", record["validation"]["message"]))
    for name, value in (record.get("score") or {}).get("metrics", {}).items():
        if isinstance(value, float):
            rows.append((name, f"{value:.4f}"))
    for name, value in rows:
        table.add_row(name, Text(printable(str(value))))  # plain text: a reason may quote the submission
    console.print(table)
    log_tail = outcome.get("log_tail") or ("outcome" not in record and (record.get("build") or {}).get("log_tail"))
    if record["status"] != "ok" and log_tail:
        console.print("[bold]end of the submission's log:[/bold]")
        console.print(printable(log_tail[-2000:]), markup=False, highlight=False)


def _run(
    challenge: str,
    submission: Path | None,
    *,
    backend: str,
    image: str | None,
    image_tar: Path | None,
    pull: bool,
    base_image: str,
    limits: Limits,
    runs_dir: Path | None,
    input_options: dict[str, Any],
    do_score: bool,
    json_path: Path | None,
) -> None:
    from ..submission_kit.runner import RECORD_FILE, run_submission
    from ..submission_kit.sandbox.workspace import make_run_root

    challenges.get(challenge)
    payload, runner = make_backend(challenge, submission, backend, image, image_tar, pull, base_image)
    run_dir = make_run_root(runs_dir, prefix=f"{challenge}-")
    record = run_submission(
        challenge, runner, payload, run_dir=run_dir, limits=limits, input_options=input_options, do_score=do_score
    )
    print_record(record)
    console.print(f"[dim]record: {run_dir / RECORD_FILE}[/dim]")
    write_json(json_path, record)
    if record["status"] != "ok":
        raise typer.Exit(code=1)


@submission_app.command("init")
@handles_errors
def init(
    challenge: ChallengeArg,
    dest: Annotated[Path | None, typer.Argument(help="Folder to write (default ./<challenge>-submission).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    json_path: JsonOption = None,
) -> None:
    """Write a working submission template: Dockerfile, entrypoint.py, model.py, README.md."""
    from ..submission_kit.runner import template_dir

    source = template_dir(challenge)
    dest = dest or Path(f"{challenge}-submission")
    names = sorted(p.name for p in source.iterdir() if p.is_file() and p.suffix != ".pyc")
    clashes = [n for n in names if (dest / n).exists()]
    if clashes and not force:
        raise ValueError(f"{dest}: {clashes} exist already; pass --force to overwrite")
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / name, dest / name)
    console.print(f"wrote {', '.join(names)} to {dest}")
    console.print(f"next: hepbench submission validate {challenge} {dest}")
    write_json(json_path, {"challenge": challenge, "folder": str(dest), "files": names})


@submission_app.command("validate")
@handles_errors
def validate(
    challenge: ChallengeArg,
    submission: SubmissionArg = None,
    backend: BackendOption = "bubblewrap",
    image: ImageOption = None,
    image_tar: ImageTarOption = None,
    pull: PullOption = False,
    base_image: BaseImageOption = _base_image_default(),
    wall_seconds: WallOption = 600.0,
    memory_mb: MemoryOption = 2048,
    cpus: CpusOption = 1.0,
    pids: PidsOption = 128,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data folder to draw the tiny inputs from (default: generated).")
    ] = None,
    runs_dir: RunsDirOption = None,
    json_path: JsonOption = None,
) -> None:
    """Run the submission on tiny data in the sandbox and check its outputs' schema (no score)."""
    options = dict(challenges.get(challenge).validate_options)
    if data is not None:
        options["data_dir"] = data
    limits = Limits(wall_seconds=wall_seconds, memory_bytes=memory_mb * MIB, cpus=cpus, pids=pids)
    _run(
        challenge,
        submission,
        backend=backend,
        image=image,
        image_tar=image_tar,
        pull=pull,
        base_image=base_image,
        limits=limits,
        runs_dir=runs_dir,
        input_options=options,
        do_score=False,
        json_path=json_path,
    )


@submission_app.command("run")
@handles_errors
def run(
    challenge: ChallengeArg,
    submission: SubmissionArg = None,
    backend: BackendOption = "bubblewrap",
    image: ImageOption = None,
    image_tar: ImageTarOption = None,
    pull: PullOption = False,
    base_image: BaseImageOption = _base_image_default(),
    preset: Annotated[str, typer.Option(help="Data size: tiny | small | full.")] = "tiny",
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the data generation (default: a secret one, kept in the run's organiser folder)."),
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Data folder from `hepbench data generate`.")] = None,
    sets: Annotated[
        int | None, typer.Option("--sets", help="higgs-uncertainty: sets in the test plan (default: the preset's).")
    ] = None,
    pseudo_experiments: Annotated[
        int | None, typer.Option("--pseudo-experiments", help="higgs-uncertainty: pseudo-experiments per set.")
    ] = None,
    plan_seed: Annotated[
        int | None,
        typer.Option("--plan-seed", help="higgs-uncertainty: initial seed of the test plan (default: a secret one)."),
    ] = None,
    geometry: Annotated[
        str | None, typer.Option("--geometry", help="calo: geometry to generate (default: the preset's first).")
    ] = None,
    wall_seconds: WallOption = 3600.0,
    memory_mb: MemoryOption = 4096,
    cpus: CpusOption = 1.0,
    pids: PidsOption = 256,
    gpu: GpuOption = False,
    runs_dir: RunsDirOption = None,
    json_path: JsonOption = None,
) -> None:
    """Score a submission: public inputs in the sandbox, answers from /output, scores outside."""
    chosen = {
        "--sets": ("n_sets", sets),
        "--pseudo-experiments": ("n_pseudo_experiments", pseudo_experiments),
        "--plan-seed": ("plan_seed", plan_seed),
        "--seed": ("seed", seed),
        "--geometry": ("geometry", geometry),
        "--data": ("data_dir", data),
    }
    options = {"preset": preset, **input_options(challenge, chosen)}
    limits = Limits(wall_seconds=wall_seconds, memory_bytes=memory_mb * MIB, cpus=cpus, pids=pids, gpu=gpu)
    _run(
        challenge,
        submission,
        backend=backend,
        image=image,
        image_tar=image_tar,
        pull=pull,
        base_image=base_image,
        limits=limits,
        runs_dir=runs_dir,
        input_options=options,
        do_score=True,
        json_path=json_path,
    )


@submission_app.command("prepare")
@handles_errors
def prepare(
    challenge: ChallengeArg,
    folder: Annotated[Path, typer.Argument(help="The phase's folder: input/ (public) and organiser/ (truth) go here.")],
    preset: Annotated[str, typer.Option(help="Data size: tiny | small | full.")] = "small",
    data: Annotated[Path | None, typer.Option("--data", help="Data folder from `hepbench data generate`.")] = None,
    json_path: JsonOption = None,
) -> None:
    """Write a phase's inputs and hidden truth for sandboxed code submissions, every seed secret."""
    from ..submission_kit.runner import prepare_inputs
    from ..submission_kit.sandbox.workspace import check_reachable

    folder.mkdir(parents=True, exist_ok=True)
    check_reachable(folder)  # the sandbox's unprivileged user must reach the inputs
    options = {"preset": preset, **({"data_dir": data} if data is not None else {})}
    input_dir, organiser_dir, summary = prepare_inputs(challenge, folder, **options)
    console.print(f"public inputs: {input_dir}; truth (keep it private): {organiser_dir}")
    console.print(f"next: hepbench leaderboard phase {challenge} PHASE --truth {organiser_dir}")
    write_json(json_path, {"challenge": challenge, "input": input_dir, "organiser": organiser_dir, **summary})


@submission_app.command("prepare-host")
@handles_errors
def prepare_host_cmd(json_path: JsonOption = None) -> None:
    """Install docker.io / bubblewrap / debootstrap if missing, run dockerd with userns-remap, load or build
    the base image, build the submission runtime (CPU torch, numpy, pandas, scikit-learn, scipy, xgboost)
    and its image."""
    from ..submission_kit.sandbox.host import prepare_host

    report = prepare_host()
    for key, value in report.items():
        console.print(f"{key}: {value}")
    write_json(json_path, report)


@submission_app.command("recover")
@handles_errors
def recover(runs_dir: RunsDirOption = None, json_path: JsonOption = None) -> None:
    """Close runs whose worker died (status killed, with the reason) and remove their sandboxes."""
    import os

    from ..submission_kit.runner import recover_stale_runs

    folder = runs_dir or Path(os.environ.get("HEPBENCH_SANDBOX_ROOT", "/var/tmp/hepbench-runs"))
    client = None
    try:
        from ..submission_kit.sandbox.container import docker_client

        client = docker_client()
    except RuntimeError:
        pass  # no daemon: no containers to remove
    closed = recover_stale_runs(folder, docker_client=client)
    for record in closed:
        console.print(f"{record['run_dir']}: killed ({record['reason']})")
    console.print(f"{len(closed)} stale run(s) closed in {folder}")
    write_json(json_path, closed)


def _bare_backend(name: str, base_image: str):
    """A backend with no payload of its own: bubblewrap, or docker running ``base_image``."""
    if name == "bubblewrap":
        from ..submission_kit.sandbox.bubblewrap import BubblewrapBackend

        return BubblewrapBackend()
    if name == "docker":
        from ..submission_kit.sandbox.container import ContainerBackend, docker_client, resolve_image

        client = docker_client()
        return ContainerBackend(resolve_image(client, base_image), client=client)
    raise ValueError(f"unknown backend {name!r}; choose bubblewrap or docker")


@submission_app.command("selftest")
@handles_errors
def selftest(
    backend: Annotated[list[str], typer.Option("--backend", help="bubblewrap and / or docker (repeat).")] = [  # noqa: B006
        "bubblewrap"
    ],  # noqa: B006
    case: Annotated[list[str] | None, typer.Option("--case", help="Hostile cases to run (default: all).")] = None,
    base_image: BaseImageOption = _base_image_default(),
    runs_dir: RunsDirOption = None,
    json_path: JsonOption = None,
) -> None:
    """Attack this host's sandboxes with the hostile submissions; exit 1 if any was not contained."""
    from ..submission_kit.sandbox.hostile import CASES, run_case

    cases = case or list(CASES)
    table = Table(title="hostile submissions")
    for column in ("case", "backend", "outcome", "reason", "seconds", "contained"):
        table.add_column(column)
    rows = []
    for name in backend:
        runner = _bare_backend(name, base_image)
        for hostile in cases:
            result = run_case(runner, hostile, runs_dir)
            o = result.outcome
            table.add_row(
                hostile,
                name,
                o.status,
                o.reason,
                f"{o.wall_seconds:.2f}",
                "yes" if result.contained else "NO: " + "; ".join(result.problems),
            )
            rows.append(
                {
                    "case": hostile,
                    "backend": name,
                    "outcome": o.as_dict(),
                    "contained": result.contained,
                    "problems": result.problems,
                }
            )
            shutil.rmtree(result.evidence["run_dir"], ignore_errors=True)
    console.print(table)
    write_json(json_path, rows)
    if not all(row["contained"] for row in rows):
        raise typer.Exit(code=1)
