"""Container backend: a submission's image run by the local docker daemon.

Images come from a local tag or a ``docker save`` tar (``docker load``); nothing is pulled
unless asked. The container runs with no network, memory (swap included) / CPU / pids limits,
a non-root user, a read-only root filesystem, a size-capped tmpfs on ``/tmp``, every
capability dropped, ``no-new-privileges``, a per-file size ulimit, and GPUs only through a
device request when the organiser allows them. Past the wall-clock limit it is killed; it is
always removed. stdout and stderr are read from the attach stream with a cap and docker's
own log file is capped too.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .backend import Backend
from .limits import Limits
from .result import LogCapture, RunOutcome, classify

SANDBOX_USER = (65534, 65534)
"""nobody:nogroup inside the container; on the host the same ids shifted by the daemon's
user-namespace remapping (:func:`remap_base`), a uid that owns nothing either way."""


def remap_base(client) -> tuple[int, int] | None:
    """Host uid and gid that root of a container maps to when the daemon remaps users, else None.

    A remapping daemon keeps its storage in ``<root>/<uid>.<gid>``, which names the range.
    """
    import re

    info = client.info()
    if not any("name=userns" in option for option in info.get("SecurityOptions") or []):
        return None
    match = re.search(r"/(\d+)\.(\d+)/?$", info.get("DockerRootDir", ""))
    if match is None:
        raise RuntimeError(f"the daemon remaps users but its root {info.get('DockerRootDir')!r} names no range")
    return int(match.group(1)), int(match.group(2))


class ImageUnavailable(RuntimeError):
    """The image is neither present locally nor loadable, and pulling was not asked for."""


def docker_client():
    """A client of the local daemon, or RuntimeError saying why there is none."""
    try:
        import docker
    except ImportError as err:  # pragma: no cover - docker is a dependency
        raise RuntimeError(f"the docker SDK is missing ({err}); pip install docker") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as err:  # noqa: BLE001 - any failure to reach the daemon reads the same to the user
        raise RuntimeError(f"no docker daemon reachable ({type(err).__name__}: {err}); start dockerd") from None
    return client


MAX_MANIFEST_BYTES = 1 << 20
LOADED_REPOSITORY = "hepbench-submission/loaded"
"""Where a loaded image tar's image is tagged (by its id), so that its own tags can be removed."""


def tar_tags(image_tar: str | Path) -> list[str]:
    """The tags an image tar would set on ``docker load`` (``docker save`` and OCI layouts)."""
    import json
    import tarfile

    tags: list[str] = []
    try:
        with tarfile.open(image_tar) as tar:
            for name in ("manifest.json", "index.json"):
                try:
                    member = tar.getmember(name)
                except KeyError:
                    continue
                if not member.isfile() or member.size > MAX_MANIFEST_BYTES:
                    raise ValueError(f"{image_tar}: {name} is not a small regular file")
                handle = tar.extractfile(member)
                payload = json.loads(handle.read()) if handle is not None else None
                if name == "manifest.json" and isinstance(payload, list):
                    tags += [t for entry in payload if isinstance(entry, dict) for t in entry.get("RepoTags") or []]
                elif name == "index.json" and isinstance(payload, dict):
                    for entry in payload.get("manifests") or []:
                        annotations = entry.get("annotations") or {} if isinstance(entry, dict) else {}
                        tag = annotations.get("io.containerd.image.name")
                        if tag:
                            tags.append(tag)
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{image_tar}: not an image tar ({type(err).__name__}: {err})") from None
    return sorted(set(tags))


def load_image_tar(client, image_tar: str | Path) -> str:
    """``docker load`` a submission's image tar without letting it repoint any tag; its image id.

    A tar whose tags name an image already here (the base image, another participant's) is
    refused before it is loaded; after the load, the tags it carried are removed and the image
    is kept under ``LOADED_REPOSITORY:<id>``, so it is run by id and names nothing else.
    """
    import docker

    image_tar = Path(image_tar)
    if not image_tar.is_file():
        raise FileNotFoundError(f"{image_tar}: image tar not found")
    tags = tar_tags(image_tar)
    for tag in tags:
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as err:
            raise ValueError(f"{image_tar}: tag {tag!r} is not valid ({err.explanation})") from None
        raise ValueError(
            f"{image_tar}: carries tag {tag!r}, which names an image already here; "
            "a submission cannot replace it (save the image without that tag)"
        )
    with image_tar.open("rb") as handle:
        loaded = client.images.load(handle)
    if not loaded:
        raise ImageUnavailable(f"{image_tar}: docker load found no image in it")
    image = loaded[0]
    image.tag(LOADED_REPOSITORY, image.id.split(":")[-1][:12])
    for tag in tags:
        client.images.remove(tag, noprune=True)  # untags only: the image keeps its LOADED_REPOSITORY tag
    return image.id


def resolve_image(client, image: str | None = None, *, image_tar: str | Path | None = None, pull: bool = False) -> str:
    """The id of the image to run: a loaded ``image_tar`` (see :func:`load_image_tar`), else the
    local ``image`` tag; a pull happens only with ``pull=True``."""
    import docker

    if image_tar is not None:
        if image is not None and image not in tar_tags(image_tar):
            raise ValueError(f"{image_tar}: holds no image tagged {image!r} (it has {tar_tags(image_tar)})")
        return load_image_tar(client, image_tar)
    if image is None:
        raise ValueError("give an image tag or an image tar")
    try:
        return client.images.get(image).id
    except docker.errors.ImageNotFound:
        if not pull:
            raise ImageUnavailable(
                f"image {image!r} is not present locally and pulling is off: load it (docker load -i FILE, "
                f"or --image-tar FILE) or allow a pull (--pull)"
            ) from None
    return client.images.pull(image).id


def build_image(
    client, context: str | Path, tag: str, buildargs: dict[str, str] | None = None, limits: Limits | None = None
) -> dict[str, float | str]:
    """Build ``context``'s Dockerfile offline (no pull, no network in RUN steps) under ``limits``
    (memory and swap of every RUN step, and the wall-clock deadline of the whole build); returns
    the image id and the build's seconds, for the run's record."""
    import docker
    import requests

    options: dict = {}
    if limits is not None:
        options["container_limits"] = {"memory": limits.memory_bytes, "memswap": limits.memory_bytes}
        options["timeout"] = limits.wall_seconds
    start = time.perf_counter()
    try:
        image, _ = client.images.build(
            path=str(context),
            tag=tag,
            buildargs=buildargs or {},
            pull=False,
            network_mode="none",
            rm=True,
            forcerm=True,
            **options,
        )
    except docker.errors.BuildError as err:
        lines = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in err.build_log)
        raise RuntimeError(f"{context}: docker build failed: {err.msg}\n{lines[-2000:]}") from None
    except requests.exceptions.ReadTimeout:
        raise RuntimeError(f"{context}: docker build ran past the {limits.wall_seconds:g} s limit") from None
    return {"image": image.id, "seconds": time.perf_counter() - start}


class ContainerBackend(Backend):
    """Run an image (a tag or id present in the local daemon) under the limits."""

    name = "docker"

    def __init__(self, image: str, *, client=None) -> None:
        self.client = client or docker_client()
        self.image = image
        # A runner killed with -9 cannot remove its container: whoever starts next does, once
        # the container's deadline has passed.
        reap_expired(self.client)

    def sandbox_ids(self) -> tuple[int, int]:
        """Host ids that own the live /output: the container's user as the host sees it."""
        base = remap_base(self.client)
        if base is None:
            return SANDBOX_USER
        return base[0] + SANDBOX_USER[0], base[1] + SANDBOX_USER[1]

    def _execute(
        self,
        command: list[str],
        *,
        input_dir: Path,
        output_dir: Path,
        submission_dir: Path | None,
        limits: Limits,
        env: dict[str, str],
        uid: int,
        gid: int,
    ) -> RunOutcome:
        from docker.types import DeviceRequest, LogConfig, Ulimit

        command = ["python3" if part == "{python}" else part for part in command]
        env = {k: v for k, v in env.items() if k != "PATH"}  # the image knows where its programs are
        declared = self.client.images.get(self.image).attrs.get("Config", {}).get("Volumes") or {}
        if declared:
            # A volume lives in the daemon's own storage: outside the /output cap, and it outlives
            # the container.
            raise ValueError(
                f"image {self.image[:19]} declares volume(s) {sorted(declared)}; a submission's image "
                "may not (write to /output or /tmp)"
            )
        volumes = {str(input_dir): {"bind": "/input", "mode": "ro"}, str(output_dir): {"bind": "/output", "mode": "rw"}}
        if submission_dir is not None:
            volumes[str(submission_dir)] = {"bind": "/submission", "mode": "ro"}
        size = limits.file_size_bytes
        start = time.perf_counter()
        container = self.client.containers.create(
            self.image,
            command=command or None,
            user=f"{SANDBOX_USER[0]}:{SANDBOX_USER[1]}",
            network_mode="none",
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            read_only=True,
            tmpfs={"/tmp": f"rw,size={limits.tmp_bytes},nr_inodes=16384,mode=1777,nosuid,nodev"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[Ulimit(name="fsize", soft=size, hard=size), Ulimit(name="core", soft=0, hard=0)],
            volumes=volumes,
            working_dir="/submission" if submission_dir is not None else None,
            environment=env,
            log_config=LogConfig(
                type="json-file", config={"max-size": str(max(limits.log_bytes, 4096)), "max-file": "1"}
            ),
            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])] if limits.gpu else None,
            init=True,
            hostname="sandbox",
            ipc_mode="private",
            labels={
                "org.hepbench.sandbox": "1",
                DEADLINE_LABEL: str(int(time.time() + limits.wall_seconds + KILL_GRACE_SECONDS)),
            },
            detach=True,
        )
        log = LogCapture(limits.log_bytes)
        timed_out, kill_seconds = False, None
        stop = threading.Event()
        peak: dict[str, int] = {}
        try:
            stream = self.client.api.attach(container.id, stdout=True, stderr=True, stream=True, logs=True)
            reader = threading.Thread(target=_drain, args=(stream, log), daemon=True)
            reader.start()
            container.start()
            sampler = threading.Thread(target=_sample_peak, args=(self.client, container.id, stop, peak), daemon=True)
            sampler.start()
            try:
                result = container.wait(timeout=limits.wall_seconds)
                exit_code = int(result.get("StatusCode", -1))
            except Exception:  # noqa: BLE001 - requests raises ReadTimeout / ConnectionError at the deadline
                if time.perf_counter() - start < limits.wall_seconds:
                    raise  # the daemon failed before the deadline: not a timeout
                timed_out = True
                kill_start = time.perf_counter()
                _kill(container)
                exit_code = int(container.wait(timeout=60).get("StatusCode", -1))
                kill_seconds = time.perf_counter() - kill_start
            wall = time.perf_counter() - start
            stop.set()
            sampler.join(2.0)
            reader.join(5.0)
            container.reload()
            state = container.attrs.get("State", {})
            oom = 1 if state.get("OOMKilled") else 0
        finally:
            stop.set()
            container.remove(force=True, v=True)
        status, reason, signal_number = classify(exit_code, timed_out, oom, log, limits)
        return RunOutcome(
            status=status,
            reason=reason,
            backend=self.name,
            exit_code=None if timed_out else exit_code,
            signal=signal_number,
            wall_seconds=wall,
            kill_seconds=kill_seconds,
            peak_memory_bytes=peak.get("bytes"),
            log_tail=log.text(),
            log_bytes_total=log.total,
            log_truncated=log.truncated,
            details={"image": self.image, "container_id": container.id[:12], "peak_memory_source": peak.get("source")},
        )


DEADLINE_LABEL = "org.hepbench.deadline"
"""Unix time after which a sandbox container is past its wall-clock limit and may be removed."""
KILL_GRACE_SECONDS = 60


def reap_expired(client, now: float | None = None) -> list[str]:
    """Remove the sandbox containers past their deadline (their runner died); their ids."""
    now = time.time() if now is None else now
    removed = []
    for container in client.containers.list(all=True, filters={"label": DEADLINE_LABEL}):
        try:
            deadline = float(container.labels.get(DEADLINE_LABEL, "inf"))
        except ValueError:
            continue
        if deadline < now:
            container.remove(force=True, v=True)
            removed.append(container.id[:12])
    return removed


def remove_containers_under(client, folder: str | Path) -> list[str]:
    """Remove the sandbox containers that mount anything under ``folder`` (a dead worker's run)."""
    folder = str(Path(folder).resolve())
    removed = []
    for container in client.containers.list(all=True, filters={"label": "org.hepbench.sandbox=1"}):
        sources = [m.get("Source", "") for m in container.attrs.get("Mounts", [])]
        if any(src == folder or src.startswith(folder + "/") for src in sources):
            container.remove(force=True, v=True)
            removed.append(container.id[:12])
    return removed


def _drain(stream, log: LogCapture) -> None:
    try:
        for chunk in stream:
            log.feed(chunk)
    except Exception:  # noqa: BLE001 - the stream ends with the container, however it ends
        pass


def _kill(container) -> None:
    try:  # noqa: SIM105
        container.kill()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _cgroup_peak_files(container_id: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    return [
        root / "memory" / "docker" / container_id / "memory.max_usage_in_bytes",
        root / "memory" / "system.slice" / f"docker-{container_id}.scope" / "memory.max_usage_in_bytes",
        root / "system.slice" / f"docker-{container_id}.scope" / "memory.peak",
        root / "docker" / container_id / "memory.peak",
    ]


def _sample_peak(client, container_id: str, stop: threading.Event, out: dict) -> None:
    """Peak memory of the container's cgroup, read by the host until the container stops.

    The cgroup's own high-water mark where the host exposes it; otherwise ``docker stats``.
    """
    files = _cgroup_peak_files(container_id)
    while not stop.is_set():
        for path in files:
            try:
                out["bytes"] = max(out.get("bytes", 0), int(path.read_text().split()[0]))
                out["source"] = str(path.name)
                break
            except (OSError, ValueError):
                continue
        else:
            try:
                stats = client.api.stats(container_id, stream=False)
                memory = stats.get("memory_stats", {})
                value = memory.get("max_usage") or memory.get("usage")
                if value:
                    out["bytes"] = max(out.get("bytes", 0), int(value))
                    out["source"] = "docker stats"
            except Exception:  # noqa: BLE001 - the container may be gone
                pass
        stop.wait(0.05)
