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

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from .backend import Backend
from .limits import MIB, Limits
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


BUILD_GROUP_PREFIX = "hepbench_build_"
"""Every build's RUN containers sit in a control group named ``<prefix><deadline>_<token>``: the
runner finds them by it, and whoever starts a docker runner next removes those past the deadline."""
BUILD_SHM_BYTES = 64 * MIB
CPU_PERIOD_US = 100_000


class BuildFailed(RuntimeError):
    """A Dockerfile build that did not finish; ``build`` holds its status, reason, seconds and log."""

    def __init__(self, message: str, build: dict[str, Any]) -> None:
        super().__init__(message)
        self.build = build


def build_group(client, deadline: float) -> str:
    """A control-group parent for one build's containers, named for the daemon's cgroup driver."""
    import secrets

    name = f"{BUILD_GROUP_PREFIX}{int(deadline)}_{secrets.token_hex(6)}"
    return f"{name}.slice" if client.info().get("CgroupDriver") == "systemd" else f"/{name}"


def build_containers(client, group: str | None = None) -> list:
    """The daemon's build containers (all builds', or those of ``group``)."""
    import docker

    found = []
    for summary in client.api.containers(all=True):
        try:
            container = client.containers.get(summary["Id"])
        except docker.errors.NotFound:
            continue  # removed since the listing
        parent = (container.attrs.get("HostConfig") or {}).get("CgroupParent") or ""
        if (group is None and BUILD_GROUP_PREFIX in parent) or (group is not None and parent == group):
            found.append(container)
    return found


class _BuildDisk:
    """Bytes a build's containers have written (their writable layers, summed over its steps)."""

    def __init__(self, client, group: str) -> None:
        self.client, self.group = client, group
        self.foreign: set[str] = set()
        self.written: dict[str, int] = {}

    def sample(self) -> int:
        import docker

        for summary in self.client.api.containers(all=True):
            cid = summary["Id"]
            if cid in self.foreign or cid in self.written:
                continue
            try:
                parent = (self.client.api.inspect_container(cid).get("HostConfig") or {}).get("CgroupParent")
            except docker.errors.NotFound:
                continue
            if parent == self.group:
                self.written[cid] = 0
            else:
                self.foreign.add(cid)
        if self.written:
            sized = self.client.api.containers(all=True, size=True, filters={"id": list(self.written)})
            for summary in sized:
                cid = summary["Id"]
                self.written[cid] = max(self.written.get(cid, 0), int(summary.get("SizeRw") or 0))
        return sum(self.written.values())


def build_image(
    client, context: str | Path, tag: str, buildargs: dict[str, str] | None = None, limits: Limits | None = None
) -> dict[str, Any]:
    """Build ``context``'s Dockerfile under ``limits``, as a run is held; the image id and what the
    build used (seconds, log, peak memory where the host shows it), for the run's record.

    The Dockerfile must start from the base image (``BASE_IMAGE``, default the kit's) and is
    checked first (:func:`~.dockerfile.check_dockerfile`); nothing is pulled. RUN steps get no
    network, the memory (swap included), CPU, process (``nproc``) and file-size limits, and run as
    root of the daemon's remapped user namespace, never the host's root: a daemon that does not
    remap users is refused. At ``limits.wall_seconds`` or when the build has taken more of the
    daemon's disk than a run may write (``output_bytes + tmp_bytes``) its containers are killed.
    Raises ``BuildFailed`` (status ``crashed``, ``timeout`` or ``killed``) when it does not finish.
    """
    import json
    import socket

    import docker
    from docker.utils import tar as context_tar

    from .base_image import BASE_IMAGE_TAG
    from .dockerfile import check_dockerfile

    limits = limits or Limits()
    context = Path(context)
    buildargs = dict(buildargs or {})
    base = buildargs.setdefault("BASE_IMAGE", BASE_IMAGE_TAG)
    check_dockerfile(context / "Dockerfile", base)
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        raise ImageUnavailable(f"base image {base!r} is not present locally; a build never pulls") from None
    if remap_base(client) is None:
        raise RuntimeError(
            "the docker daemon does not remap users, so a Dockerfile's RUN steps would run as the host's root; "
            "run `hepbench submission prepare-host` (it sets userns-remap)"
        )
    deadline = time.time() + limits.wall_seconds
    group = build_group(client, deadline + KILL_GRACE_SECONDS)
    ulimits = [
        {"Name": "nproc", "Soft": limits.pids, "Hard": limits.pids},
        {"Name": "fsize", "Soft": limits.file_size_bytes, "Hard": limits.file_size_bytes},
        {"Name": "core", "Soft": 0, "Hard": 0},
    ]
    params = {
        "t": tag,
        "buildargs": json.dumps(buildargs),
        "rm": True,
        "forcerm": True,
        "networkmode": "none",
        "memory": limits.memory_bytes,
        "memswap": limits.memory_bytes,
        "cpuperiod": CPU_PERIOD_US,
        "cpuquota": max(1000, int(limits.cpus * CPU_PERIOD_US)),
        "shmsize": min(BUILD_SHM_BYTES, limits.tmp_bytes),
        "ulimits": json.dumps(ulimits),
        "cgroupparent": group,
        "version": "1",  # the classic builder: it honours every limit above
    }
    exclude = None
    ignore = context / ".dockerignore"
    if ignore.is_file():
        exclude = [x.strip() for x in ignore.read_text().splitlines() if x.strip() and not x.startswith("#")]
    log = LogCapture(limits.log_bytes)
    state: dict[str, Any] = {}
    disk = _BuildDisk(client, group)
    disk_budget = limits.output_bytes + limits.tmp_bytes

    def stream() -> None:
        try:
            with context_tar(str(context), exclude=exclude) as archive:
                # The SDK's build() cannot pass ulimits, CPU quota or a cgroup parent: the same call, by hand.
                response = client.api._post(
                    client.api._url("/build"),
                    data=archive,
                    params=params,
                    headers={"Content-Type": "application/tar"},
                    stream=True,
                    timeout=None,
                )
                state["response"] = response
                client.api._raise_for_status(response)
                for line in response.iter_lines():
                    chunk = json.loads(line) if line.strip() else {}
                    if "stream" in chunk:
                        log.feed(str(chunk["stream"]).encode())
                    if "error" in chunk:
                        state["error"] = str(chunk["error"]).strip()
                        log.feed(state["error"].encode() + b"\n")
                    image_id = (chunk.get("aux") or {}).get("ID")
                    if image_id:
                        state["image"] = image_id
        except Exception as err:  # noqa: BLE001 - reported below as the build's failure
            state.setdefault("exception", err)

    start = time.perf_counter()
    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    stopped, disk_used = None, 0
    while reader.is_alive() and stopped is None:
        reader.join(0.5)
        with contextlib.suppress(docker.errors.APIError):
            disk_used = max(disk_used, disk.sample())
        if time.time() > deadline:
            stopped = ("timeout", f"the build ran past the {limits.wall_seconds:g} s limit")
        elif disk_used > disk_budget:
            stopped = ("killed", f"the build wrote more than {disk_budget >> 20} MiB to the daemon's disk")
    kill_seconds = None
    if stopped is not None:
        kill_start = time.perf_counter()
        response = state.get("response")
        raw = getattr(getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None), "raw", None)
        sock = getattr(raw, "_sock", None)
        if isinstance(sock, socket.socket):  # the daemon cancels a build whose client went away
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        while reader.is_alive() and time.perf_counter() - kill_start < KILL_GRACE_SECONDS:
            for container in build_containers(client, group):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
            reader.join(0.2)
        kill_seconds = time.perf_counter() - kill_start
    gone_by = time.perf_counter() + 30
    while (left := build_containers(client, group)) and time.perf_counter() < gone_by:
        for container in left:  # nothing of the build outlives it (the daemon may be removing it already)
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        time.sleep(0.2)
    build: dict[str, Any] = {
        "seconds": time.perf_counter() - start,
        "kill_seconds": kill_seconds,
        "peak_memory_bytes": _group_peak_memory(group),
        "disk_bytes": disk_used,
        "log_tail": log.text(),
        "log_bytes_total": log.total,
        "limits": "memory, cpus, pids (nproc), file size, wall clock, disk; no network; remapped root",
    }
    _remove_group(group)
    if stopped is not None:
        build.update(status=stopped[0], reason=stopped[1])
    elif "image" not in state or "error" in state or "exception" in state:
        why = state.get("error") or repr(state.get("exception") or "no image id in the daemon's answer")
        build.update(status="crashed", reason=f"docker build failed: {why}")
    else:
        added = client.images.get(state["image"]).attrs.get("Size", 0) - client.images.get(base).attrs.get("Size", 0)
        build["disk_bytes"] = max(disk_used, added)
        if added <= disk_budget:
            build.update(status="ok", reason="built", image=state["image"])
            return build
        client.images.remove(state["image"], force=True)
        build.update(
            status="killed",
            reason=f"the image adds {added >> 20} MiB, more than the {disk_budget >> 20} MiB a run may write",
        )
    raise BuildFailed(f"{context}: {build['reason']}\n{log.text()[-2000:]}", build)


def _group_paths(group: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    name = group.strip("/")
    return [root / name, *(root / c / name for c in ("memory", "pids", "cpu", "cpuacct", "cpu,cpuacct"))]


def _group_peak_memory(group: str) -> int | None:
    for path in _group_paths(group):
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                return int((path / name).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return None


def _remove_group(group: str) -> None:
    for path in _group_paths(group):
        with contextlib.suppress(OSError):
            path.rmdir()


class ContainerBackend(Backend):
    """Run an image (a tag or id present in the local daemon) under the limits."""

    name = "docker"

    def __init__(self, image: str, *, client=None) -> None:
        self.client = client or docker_client()
        self.image = image
        # A runner killed with -9 cannot remove its container: whoever starts next does, once
        # the container's deadline has passed.
        reap_expired(self.client)

    def build(self, context: str | Path, tag: str, limits: Limits) -> dict[str, Any]:
        """Build ``context``'s Dockerfile from this backend's image (``BASE_IMAGE``) under ``limits``
        (:func:`build_image`); runs then use the built image."""
        build = build_image(self.client, context, tag, {"BASE_IMAGE": self.image}, limits)
        self.image = build["image"]
        return build

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
    """Remove the sandbox and build containers past their deadline (their runner died); their ids."""
    import re

    import docker

    now = time.time() if now is None else now
    removed = []
    for container in build_containers(client):
        parent = (container.attrs.get("HostConfig") or {}).get("CgroupParent") or ""
        match = re.search(re.escape(BUILD_GROUP_PREFIX) + r"(\d+)_", parent)
        if match and int(match.group(1)) < now:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
            removed.append(container.id[:12])
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
