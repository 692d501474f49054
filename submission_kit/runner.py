"""One submission, end to end: inputs, sandboxed run, output checks, scoring, record.

The record (``RUN_DIR/record.json``) is written before the run (status ``running``, the
payload's checksum, the limits) and replaced atomically after it with the host's outcome, the
output check and the scores, so a crashed worker leaves a record saying where it stopped. The
code payload is copied into the run folder; outputs are kept in ``RUN_DIR/output``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import challenges
from ..challenges.outputs import OutputError
from ..output import jsonable
from .sandbox.backend import Backend
from .sandbox.limits import Limits
from .sandbox.result import INVALID_OUTPUT, REFUSED, SANDBOX_ERROR
from .sandbox.workspace import remove_stale_stages, start_ticks

RECORD_FILE = "record.json"
RECORD_VERSION = 1
MAX_CODE_BYTES = 64 << 20
CODE_COMMAND: tuple[str, ...] = ("{python}", "/submission/entrypoint.py")
"""How a code submission starts: the kit's entrypoint, which imports the participant's model.py."""


@dataclass(frozen=True)
class Payload:
    """What was submitted: a code folder (``model.py``), a container image, or a folder with a
    Dockerfile (``kind="dockerfile"``, built from ``image`` by the run under its limits)."""

    kind: str
    code_dir: Path | None = None
    image: str | None = None
    image_tar: Path | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.code_dir is not None:
            out["code_dir"] = str(self.code_dir)
            out["sha256"] = tree_sha256(self.code_dir)
        if self.image is not None:
            out["image"] = self.image
        if self.image_tar is not None:
            out["image_tar"] = str(self.image_tar)
        return out


def code_files(folder: Path) -> list[Path]:
    """The regular files of a code folder in name order (no links, no ``__pycache__``), refused
    with ValueError when they hold more than ``MAX_CODE_BYTES``: sizes come from ``stat`` (a
    sparse 3 GiB file is refused without being read)."""
    files, total = [], 0
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not path.is_file() or "__pycache__" in path.parts:
            continue
        total += path.stat().st_size
        if total > MAX_CODE_BYTES:
            raise ValueError(
                f"{folder}: more than {MAX_CODE_BYTES >> 20} MiB of code ({path.name} and before); "
                "ship data in an image"
            )
        files.append(path)
    return files


def tree_sha256(folder: Path, block_bytes: int = 1 << 20) -> str:
    """Checksum of a code folder's files (names and bytes, in name order), read in blocks."""
    digest = hashlib.sha256()
    for path in code_files(folder):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            while block := handle.read(block_bytes):
                digest.update(block)
    return digest.hexdigest()


def template_dir(challenge: str) -> Path:
    """The kit's template folder of ``challenge`` (Dockerfile, entrypoint.py, model.py)."""
    folder = challenges.get(challenge).template_dir()
    if not folder.is_dir():
        raise ValueError(f"{challenge} has no submission template ({folder} is missing)")
    return folder


def stage_code(challenge: str, code_dir: str | Path, dest: Path) -> Path:
    """Copy a code submission to ``dest`` with the kit's own ``entrypoint.py``.

    Regular files only (no links), at most ``MAX_CODE_BYTES``; ``model.py`` is required.
    """
    code_dir = Path(code_dir)
    if not (code_dir / "model.py").is_file():
        raise FileNotFoundError(f"{code_dir / 'model.py'}: a code submission needs a model.py with a Model class")
    dest.mkdir(parents=True, exist_ok=True)
    for path in code_files(code_dir):
        target = dest / path.relative_to(code_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    shutil.copyfile(template_dir(challenge) / "entrypoint.py", dest / "entrypoint.py")
    stage_sandbox_modules(challenge, dest)
    return dest


SANDBOX_PACKAGE = "_hepbench"


def stage_sandbox_modules(challenge: str, dest: Path) -> list[str]:
    """Copy the challenge's ``sandbox_modules`` to ``dest/_hepbench/`` (replacing a participant's
    folder of that name); returns the file names."""
    import importlib.util

    modules = challenges.get(challenge).sandbox_modules
    if not modules:
        return []
    package = dest / SANDBOX_PACKAGE
    if package.is_symlink() or package.is_file():
        package.unlink()
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir()
    (package / "__init__.py").write_text('"""hepbench modules for the sandbox\'s entrypoint."""\n')
    names = []
    for module in modules:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ValueError(f"{challenge}: sandbox module {module} not found")
        name = module.rpartition(".")[2] + ".py"
        shutil.copyfile(spec.origin, package / name)
        names.append(name)
    return names


def write_record(run_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``run_dir/record.json`` atomically (temporary name, fsync, rename)."""
    path = Path(run_dir) / RECORD_FILE
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w") as handle:
        handle.write(json.dumps(jsonable(record), indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    return path


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def worker_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start_ticks": start_ticks(os.getpid())}


def worker_alive(worker: dict[str, Any]) -> bool:
    """Whether the process that wrote a record still runs (always True for another host's worker)."""
    if worker.get("host") != socket.gethostname():
        return True
    pid = worker.get("pid")
    return isinstance(pid, int) and start_ticks(pid) is not None and start_ticks(pid) == worker.get("start_ticks")


def recover_stale_runs(runs_dir: str | Path, *, docker_client: Any = None) -> list[dict[str, Any]]:
    """Close the runs whose worker died: status ``killed`` with the reason, sandbox leftovers removed.

    For every ``record.json`` still ``running`` whose worker process (on this host) is gone: the
    run's containers are removed (when a docker client is given), its output tmpfs unmounted and
    its control groups deleted; the record is rewritten. Returns the records it closed.
    """
    from .sandbox.cgroups import remove_worker_groups

    closed = []
    for path in sorted(Path(runs_dir).glob("*/" + RECORD_FILE)):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        worker = record.get("worker", {})
        if record.get("status") != "running" or worker_alive(worker):
            continue
        run_dir = path.parent
        leftovers: dict[str, Any] = {}
        if docker_client is not None:
            from .sandbox.container import remove_containers_under

            leftovers["containers_removed"] = remove_containers_under(docker_client, run_dir)
        live = run_dir / "output.live"
        if os.path.ismount(live):
            subprocess.run(["umount", "-l", str(live)], capture_output=True)
            leftovers["output_unmounted"] = True
        leftovers["cgroups_removed"] = remove_worker_groups(int(worker.get("pid", -1)))
        leftovers["stages_removed"] = remove_stale_stages()
        record.update(
            status="killed",
            reason=(
                f"the worker (pid {worker.get('pid')} on {worker.get('host')}) stopped "
                "before the run finished; nothing was scored"
            ),
            finished=_now(),
            recovered=leftovers,
        )
        write_record(run_dir, record)
        closed.append(record)
    return closed


def reap_sandbox_leftovers() -> dict[str, Any]:
    """Remove what runners killed with -9 left on this host: their staged folders, and the docker
    sandbox and build containers past their deadline (when a daemon answers). A worker calls it
    when it starts, so a deadline holds even when no run follows."""
    from .sandbox.host import daemon_answers

    removed: dict[str, Any] = {"stages_removed": remove_stale_stages()}
    if daemon_answers():
        from .sandbox.container import docker_client, reap_expired

        try:
            removed["containers_removed"] = reap_expired(docker_client())
        except Exception as err:  # noqa: BLE001 - a worker that cannot reap still scores; the next one reaps
            removed["containers_error"] = f"{type(err).__name__}: {err}"
    return removed


def prepare_inputs(challenge: str, run_dir: Path, **options: Any) -> tuple[Path, Path, dict[str, Any]]:
    """Write ``run_dir/input`` (public) and ``run_dir/organiser`` (truth); returns both and a summary."""
    input_dir, organiser_dir = run_dir / "input", run_dir / "organiser"
    summary = challenges.get(challenge).write_inputs(input_dir, organiser_dir, **options)
    return input_dir, organiser_dir, summary


def _build(
    backend: Backend, payload: Payload, record: dict[str, Any], run_dir: Path, limits: Limits, challenge: str
) -> bool:
    """Build a Dockerfile payload through ``backend`` under ``limits``, the build in the record;
    whether the run ended there (the build failed, with the status and reason recorded)."""
    from .sandbox.container import BuildFailed, ContainerBackend

    if not isinstance(backend, ContainerBackend) or payload.code_dir is None:
        raise ValueError("a Dockerfile submission needs the docker backend and its folder")
    tag = f"hepbench-submission/{challenge}:{tree_sha256(payload.code_dir)[:12]}"
    try:
        record["payload"].update(base_image=payload.image, image=tag)
        record["build"] = {"tag": tag, **backend.build(payload.code_dir, tag, limits)}
        write_record(run_dir, record)
        return False
    except BuildFailed as err:
        record["build"] = err.build
        status, reason = err.build["status"], f"build: {err.build['reason']}"
    except (ValueError, OSError) as err:
        status, reason = REFUSED, str(err)
    except Exception as err:  # noqa: BLE001 - the daemon failed, not the submission
        status, reason = SANDBOX_ERROR, f"{type(err).__name__}: {err}"
    record.update(status=status, reason=reason, finished=_now())
    write_record(run_dir, record)
    return True


def run_submission(
    challenge: str,
    backend: Backend,
    payload: Payload,
    *,
    run_dir: str | Path,
    limits: Limits,
    input_dir: Path | None = None,
    organiser_dir: Path | None = None,
    input_options: dict[str, Any] | None = None,
    command: list[str] | None = None,
    do_score: bool = True,
    n_bootstrap: int = 200,
) -> dict[str, Any]:
    """Run ``payload`` through ``backend`` on ``challenge``'s inputs; return (and persist) the record.

    ``input_dir`` / ``organiser_dir`` reuse inputs written earlier (``prepare_inputs``);
    otherwise they are written under ``run_dir`` from ``input_options``. Code payloads run
    ``CODE_COMMAND``; images run their own entrypoint unless ``command`` is given. With
    ``do_score=False`` only the output schema is checked (``hepbench submission validate``).
    """
    spec = challenges.get(challenge)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "record_version": RECORD_VERSION,
        "challenge": challenge,
        "backend": backend.name,
        "payload": {"kind": payload.kind},
        "limits": limits.as_dict(),
        "status": "running",
        "created": _now(),
        "worker": worker_identity(),
        "run_dir": str(run_dir),
    }
    write_record(run_dir, record)
    submission_dir = None
    try:
        record["payload"] = payload.describe()
        write_record(run_dir, record)
        if payload.kind == "dockerfile":
            finished = _build(backend, payload, record, run_dir, limits, challenge)
            if finished:
                return record
        if payload.kind == "code":
            submission_dir = stage_code(challenge, payload.code_dir, run_dir / "submission")
            command = list(command or CODE_COMMAND)
        if input_dir is None or organiser_dir is None:
            input_dir, organiser_dir, record["inputs"] = prepare_inputs(challenge, run_dir, **(input_options or {}))
            write_record(run_dir, record)
    except (ValueError, OSError) as err:
        # Refused before it ran: the record says why, and nothing stays running.
        record.update(status=REFUSED, reason=str(err), finished=_now())
        write_record(run_dir, record)
        return record
    except Exception as err:  # noqa: BLE001 - the host failed to prepare the run: recorded, never left running
        record.update(status=SANDBOX_ERROR, reason=f"preparing the run: {type(err).__name__}: {err}", finished=_now())
        write_record(run_dir, record)
        return record
    try:
        outcome = backend.run(
            list(command or []),
            input_dir=input_dir,
            output_dir=run_dir / "output",
            limits=limits,
            submission_dir=submission_dir,
        )
    except Exception as err:  # noqa: BLE001 - whatever stopped the sandbox, the record says so
        status = REFUSED if isinstance(err, ValueError) else SANDBOX_ERROR
        record.update(status=status, reason=f"{type(err).__name__}: {err}", finished=_now())
        write_record(run_dir, record)
        return record
    record["outcome"] = outcome.as_dict()
    if outcome.ok:
        try:
            outputs = spec.read_outputs(run_dir / "output", organiser_dir)
            checked = spec.check_run_outputs(run_dir / "output", outputs, wall_seconds=outcome.wall_seconds)
            record["validation"] = {"ok": True, "message": spec.describe_outputs(outputs), **checked}
            if do_score:
                # The host's measurements go to the scorer that asks for them (calo: the wall time
                # that bounds the generation time measured inside the sandbox).
                measured = {"n_bootstrap": n_bootstrap, "wall_seconds": outcome.wall_seconds}
                options = {k: v for k, v in measured.items() if k in spec.score_options}
                score = spec.score(run_dir / "output", organiser_dir, **options)
                record["score"] = score.record("submission", **record.get("inputs", {}))
        except OutputError as err:
            outcome.status, outcome.reason = INVALID_OUTPUT, str(err)
            record["outcome"] = outcome.as_dict()
            record["validation"] = {"ok": False, "message": str(err)}
        except Exception as err:  # noqa: BLE001 - outputs the checks let through but the scorer cannot take
            reason = f"the outputs could not be scored ({type(err).__name__}: {str(err)[:300]})"
            outcome.status, outcome.reason = INVALID_OUTPUT, reason
            record["outcome"] = outcome.as_dict()
            record["validation"] = {"ok": False, "message": reason, "scorer_error": type(err).__name__}
    record["status"] = outcome.status
    record["reason"] = outcome.reason
    record["finished"] = _now()
    write_record(run_dir, record)
    return record
