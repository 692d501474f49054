"""The container backend under attack: every hostile case in a real docker container, plus
the image rules (local tag or tar, never a pull unless asked) and the container's settings."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import docker
import pytest

from hepbench.submission_kit.sandbox.container import ImageUnavailable, resolve_image
from hepbench.submission_kit.sandbox.hostile import CASES, HOSTILE_LIMITS, run_case
from hepbench.submission_kit.sandbox.workspace import make_run_root

pytestmark = pytest.mark.slow  # minutes in all: the full suite runs it, `-m "not slow"` skips it

PRIVILEGES = """
import json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
report = {"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
          "interfaces": [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]}
for path in ["/tmp/x", "/output/x", "/etc/x"]:
    try:
        open(path, "w").write("ok")
        report[path] = "written"
    except OSError as err:
        report[path] = type(err).__name__
open("/output/report.json", "w").write(json.dumps(report))
"""


def _run_script(backend, script: str, base):
    root = make_run_root(base, prefix="script-")
    (root / "input").mkdir()
    (root / "submission").mkdir()
    (root / "submission" / "main.py").write_text(script)
    outcome = backend.run(
        ["{python}", "main.py"],
        input_dir=root / "input",
        output_dir=root / "output",
        limits=HOSTILE_LIMITS,
        submission_dir=root / "submission",
    )
    return outcome, root / "output"


def _sandbox_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "org.hepbench.sandbox=1"})


@pytest.mark.parametrize("case", CASES)
def test_hostile_submission_is_contained(docker_backend, docker_host, sandbox_runs, case: str) -> None:
    result = run_case(docker_backend, case, sandbox_runs)
    assert result.contained, (result.problems, result.outcome.reason, result.outcome.log_tail[-800:])
    assert result.outcome.reason
    assert result.outcome.wall_seconds < HOSTILE_LIMITS.wall_seconds + 10
    assert not _sandbox_containers(docker_host["client"]), "the container outlived its run"


def test_container_runs_unprivileged_offline_and_read_only(docker_backend, sandbox_runs) -> None:
    from hepbench.submission_kit.sandbox.container import remap_base

    base = remap_base(docker_backend.client)
    assert base is not None and base[0] >= 1000, "the daemon does not remap users: container root is host root"
    assert docker_backend.sandbox_ids() == (base[0] + 65534, base[1] + 65534)
    outcome, output = _run_script(docker_backend, PRIVILEGES, sandbox_runs)
    assert outcome.ok, outcome.log_tail
    report = json.loads((output / "report.json").read_text())
    assert report["uid"] == 65534
    assert int(report["cap_eff"], 16) == 0
    assert report["no_new_privs"] == "1"
    assert report["interfaces"] == ["lo"]
    assert report["/tmp/x"] == "written" and report["/output/x"] == "written"
    assert report["/etc/x"] in ("OSError", "PermissionError")
    assert outcome.peak_memory_bytes and outcome.peak_memory_bytes < HOSTILE_LIMITS.memory_bytes


def test_missing_image_is_never_pulled_unless_asked(docker_host) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageUnavailable, match="not present locally and pulling is off"):
        resolve_image(docker_host["client"], "hepbench-absent/never-built:1")
    assert time.perf_counter() - start < 5


def test_image_from_a_docker_save_tar(docker_host, sandbox_runs, tmp_path) -> None:
    client = docker_host["client"]
    base = client.images.get(docker_host["image"])
    base.tag("hepbench-test/from-tar", "1")
    tar = tmp_path / "image.tar"
    with tar.open("wb") as handle:
        for chunk in client.images.get("hepbench-test/from-tar:1").save(named="hepbench-test/from-tar:1"):
            handle.write(chunk)
    client.images.remove("hepbench-test/from-tar:1")
    with pytest.raises(ImageUnavailable):
        resolve_image(client, "hepbench-test/from-tar:1")
    assert resolve_image(client, "hepbench-test/from-tar:1", image_tar=tar) == base.id
    # Loaded by id: the tar's own tag is not left behind to be used by anyone else.
    with pytest.raises(ImageUnavailable):
        resolve_image(client, "hepbench-test/from-tar:1")


def test_a_fork_bomb_leaves_a_neighbour_alone(docker_backend, sandbox_runs) -> None:
    bomb = threading.Thread(target=run_case, args=(docker_backend, "fork-bomb", sandbox_runs))
    bomb.start()
    time.sleep(1.0)
    script = "import subprocess\nfor _ in range(20):\n    subprocess.run(['true'], check=True)\nprint('fine')\n"
    outcome, _ = _run_script(docker_backend, script, sandbox_runs)
    bomb.join()
    assert outcome.ok, (outcome.reason, outcome.log_tail)
    assert "fine" in outcome.log_tail


def test_docker_errors_are_not_mistaken_for_timeouts(docker_host, sandbox_runs) -> None:
    from hepbench.submission_kit.sandbox.container import ContainerBackend

    backend = ContainerBackend("hepbench-absent/never-built:1", client=docker_host["client"])
    with pytest.raises(docker.errors.ImageNotFound):
        _run_script(backend, "print('x')", sandbox_runs)


def test_the_daemon_keeps_a_capped_log_of_a_flood(docker_backend, docker_host, sandbox_runs) -> None:
    """Besides the capped capture, docker's own json log of the container stays near log_bytes."""
    import os

    client = docker_host["client"]
    largest: dict = {"bytes": 0}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                for container in _sandbox_containers(client):
                    container.reload()
                    largest["bytes"] = max(largest["bytes"], os.path.getsize(container.attrs["LogPath"]))
            except Exception as err:  # noqa: BLE001 - a container may vanish between list, reload and stat
                largest.setdefault("errors", []).append(type(err).__name__)
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result = run_case(docker_backend, "print-flood", sandbox_runs)
    stop.set()
    watcher.join()
    assert result.contained, result.problems
    assert result.outcome.log_bytes_total > 50 * HOSTILE_LIMITS.log_bytes
    assert 0 < largest["bytes"] < 4 * HOSTILE_LIMITS.log_bytes, largest


def test_an_image_tar_cannot_repoint_a_tag(docker_host, tmp_path) -> None:
    """A participant's tar that names an existing tag (the base image's, another participant's)
    is refused before it is loaded; a loaded tar keeps none of its own tags and runs by id."""
    import io
    import tarfile

    from hepbench.submission_kit.sandbox.container import LOADED_REPOSITORY, build_image

    client, base = docker_host["client"], docker_host["image"]
    base_id = client.images.get(base).id
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base}\nLABEL org.hepbench.test=repoint\n")
    image_id = build_image(client, context, "mallory/evil:1")["image"]
    evil = tmp_path / "evil.tar"
    with open(evil, "wb") as handle:
        for chunk in client.images.get("mallory/evil:1").save(named="mallory/evil:1"):
            handle.write(chunk)
    try:
        with pytest.raises(ValueError, match="carries tag 'mallory/evil:1', which names an image already here"):
            resolve_image(client, image_tar=evil)
        # The same tar rewritten to claim the base image's tag: refused before docker sees it.
        forged = tmp_path / "forged.tar"
        with tarfile.open(evil) as src, tarfile.open(forged, "w") as dst:
            for member in src.getmembers():
                data = src.extractfile(member) if member.isfile() else None
                if member.name == "manifest.json" and data is not None:
                    manifest = json.loads(data.read())
                    manifest[0]["RepoTags"] = [base]
                    raw = json.dumps(manifest).encode()
                    member.size = len(raw)
                    data = io.BytesIO(raw)
                dst.addfile(member, data)
        with pytest.raises(ValueError, match=f"carries tag '{base}'"):
            resolve_image(client, image_tar=forged)
        assert client.images.get(base).id == base_id
        # Without the tag present, the tar loads, loses its tag and is known by id only.
        client.images.remove("mallory/evil:1", noprune=True)
        loaded = resolve_image(client, image_tar=evil)
        assert loaded == image_id and client.images.get(base).id == base_id
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get("mallory/evil:1")
        assert any(t.startswith(LOADED_REPOSITORY + ":") for t in client.images.get(loaded).tags)
    finally:
        for image in client.images.list(filters={"label": "org.hepbench.test=repoint"}):
            client.images.remove(image.id, force=True, noprune=True)


def test_an_image_that_declares_a_volume_is_refused(docker_host, sandbox_runs, tmp_path) -> None:
    """A VOLUME would take writes past the /output cap into the daemon's storage, and outlive the run."""
    from hepbench.submission_kit.runner import Payload, run_submission
    from hepbench.submission_kit.sandbox.container import ContainerBackend
    from hepbench.submission_kit.sandbox.limits import Limits

    client = docker_host["client"]
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {docker_host['image']}\nVOLUME /data\nLABEL org.hepbench.test=volume\n")
    # Built as the participant would on their own machine (the runner's own builds refuse VOLUME).
    image_id = client.images.build(
        path=str(context), tag="mallory/volume:1", network_mode="none", rm=True, forcerm=True
    )[0].id
    volumes_before = {v.name for v in client.volumes.list()}
    try:
        inputs = tmp_path / "input"
        inputs.mkdir()
        record = run_submission(
            "lhco",
            ContainerBackend(image_id, client=client),
            Payload("image", image=image_id),
            run_dir=make_run_root(sandbox_runs, prefix="volume-"),
            limits=Limits(wall_seconds=30),
            input_dir=inputs,
            organiser_dir=tmp_path,
        )
        assert record["status"] == "refused" and "declares volume(s) ['/data']" in record["reason"]
        assert {v.name for v in client.volumes.list()} == volumes_before
    finally:
        client.images.remove(image_id, force=True, noprune=True)


def test_a_container_past_its_deadline_is_reaped_by_the_next_runner(docker_host) -> None:
    """A runner killed with -9 leaves its container running: the next one removes it."""
    from hepbench.submission_kit.sandbox.container import DEADLINE_LABEL, ContainerBackend

    client = docker_host["client"]
    orphan = client.containers.run(
        docker_host["image"],
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={"org.hepbench.sandbox": "1", DEADLINE_LABEL: str(int(time.time()) - 1)},
    )
    alive = client.containers.run(
        docker_host["image"],
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={"org.hepbench.sandbox": "1", DEADLINE_LABEL: str(int(time.time()) + 600)},
    )
    try:
        ContainerBackend(docker_host["image"], client=client)
        ids = {c.id for c in client.containers.list(all=True)}
        assert orphan.id not in ids and alive.id in ids
    finally:
        for container in (orphan, alive):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def test_a_build_runs_under_the_run_s_memory_limit(docker_host, tmp_path) -> None:
    """A Dockerfile's RUN steps get the run's memory limit: a build cannot take the host's memory."""
    from hepbench.submission_kit.sandbox.container import build_image
    from hepbench.submission_kit.sandbox.limits import MIB, Limits

    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {docker_host['image']}\nRUN python3 -c 'b = bytearray(768 * 1024 * 1024); print(len(b))'\n"
    )
    limits = Limits(wall_seconds=120, memory_bytes=128 * MIB)
    with pytest.raises(RuntimeError, match="docker build failed"):
        build_image(docker_host["client"], context, "mallory/hungry:1", limits=limits)
    built = build_image(docker_host["client"], context, "mallory/hungry:1", limits=Limits(wall_seconds=120))
    try:
        assert built["seconds"] > 0 and built["image"].startswith("sha256:")
    finally:
        docker_host["client"].images.remove(built["image"], force=True, noprune=True)


def _dockerfile(tmp_path, body: str):
    context = tmp_path / "context"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" + body)
    return context


def test_a_build_runs_as_an_unprivileged_host_user_with_the_run_s_limits(docker_host, tmp_path) -> None:
    """Root of a RUN step is a remapped host uid, with the run's CPU, process and file-size limits."""
    from hepbench.submission_kit.sandbox.container import build_image
    from hepbench.submission_kit.sandbox.limits import MIB, Limits

    script = (
        "import json, os, resource\n"
        "quota = open('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').read().strip() "
        "if os.path.exists('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') else open('/sys/fs/cgroup/cpu.max').read().split()[0]\n"
        "print('REPORT', json.dumps({'uid': os.getuid(), 'uid_map': open('/proc/self/uid_map').read().split(), "
        "'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0], 'fsize': resource.getrlimit(resource.RLIMIT_FSIZE)[0], "
        "'quota': int(quota)}))\n"
    )
    context = _dockerfile(tmp_path, "COPY probe.py /probe.py\nRUN python3 /probe.py\n")
    (context / "probe.py").write_text(script)
    limits = Limits(wall_seconds=120, memory_bytes=256 * MIB, cpus=0.5, pids=48, file_size_bytes=8 * MIB)
    built = build_image(docker_host["client"], context, "mallory/probe:1", {"BASE_IMAGE": docker_host["image"]}, limits)
    try:
        line = next(x for x in built["log_tail"].splitlines() if x.startswith("REPORT "))
        report = json.loads(line[len("REPORT ") :])
        assert report["uid"] == 0 and report["uid_map"][:2] == ["0", str(int(report["uid_map"][1]))]
        assert int(report["uid_map"][1]) >= 1000, "root of the build is the host's root"
        assert report["nproc"] == 48 and report["fsize"] == 8 * MIB and report["quota"] == 50_000
        assert built["status"] == "ok" and built["seconds"] > 0 and built["peak_memory_bytes"] > 0
    finally:
        docker_host["client"].images.remove(built["image"], force=True, noprune=True)


@pytest.mark.parametrize(
    "body,status,reason",
    [
        ("RUN while true; do echo tick; sleep 0.2; done\n", "timeout", "ran past the 4 s limit"),
        ("RUN for i in $(seq 1 60); do head -c 16000000 /dev/zero > /f$i; done; sleep 60\n", "killed", "wrote more"),
    ],
    ids=["deadline", "disk"],
)
def test_a_build_past_its_limits_is_stopped_and_leaves_nothing(docker_host, tmp_path, body, status, reason) -> None:
    """A build that talks forever (a read timeout never fires) or fills the daemon's disk is stopped
    at the run's deadline or output budget; its container is gone."""
    from hepbench.submission_kit.sandbox.container import BuildFailed, build_containers, build_image
    from hepbench.submission_kit.sandbox.limits import MIB, Limits

    client = docker_host["client"]
    limits = Limits(wall_seconds=4 if status == "timeout" else 120, output_bytes=128 * MIB, tmp_bytes=32 * MIB)
    start = time.perf_counter()
    with pytest.raises(BuildFailed) as failed:
        build_image(
            client, _dockerfile(tmp_path, body), "mallory/endless:1", {"BASE_IMAGE": docker_host["image"]}, limits
        )
    assert failed.value.build["status"] == status and reason in failed.value.build["reason"]
    assert time.perf_counter() - start < 30
    assert not build_containers(client), "a build container outlived its build"


def test_a_runner_killed_mid_build_leaves_no_build_running(docker_host, tmp_path) -> None:
    """kill -9 of the process that builds: the daemon cancels the build and removes its container."""
    import os
    import signal
    import subprocess
    import sys

    from hepbench.submission_kit.sandbox.container import BUILD_GROUP_PREFIX

    client = docker_host["client"]
    context = _dockerfile(tmp_path, "RUN sleep 600\n")
    code = (
        "from hepbench.submission_kit.sandbox.container import build_image, docker_client\n"
        "from hepbench.submission_kit.sandbox.limits import Limits\n"
        f"build_image(docker_client(), {str(context)!r}, 'mallory/sleeper:1', {{'BASE_IMAGE': {docker_host['image']!r}}},"
        " Limits(wall_seconds=600))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())

    def building() -> list:
        found = []
        for summary in client.api.containers():
            with contextlib.suppress(docker.errors.NotFound):
                parent = client.api.inspect_container(summary["Id"])["HostConfig"].get("CgroupParent") or ""
                if BUILD_GROUP_PREFIX in parent:
                    found.append(summary["Id"])
        return found

    try:
        deadline = time.monotonic() + 60
        while not building() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert building(), "the build never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20
        while building() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not building(), "the build outlived its runner"
    finally:
        proc.kill()


def test_a_build_container_past_its_deadline_is_reaped(docker_host) -> None:
    """Should the daemon keep a dead runner's build going, the next runner removes it at its deadline."""
    from hepbench.submission_kit.sandbox.container import BUILD_GROUP_PREFIX, ContainerBackend

    client = docker_host["client"]
    slice_ = client.info().get("CgroupDriver") == "systemd"
    parent = f"{BUILD_GROUP_PREFIX}{int(time.time()) - 5}_feed"
    orphan = client.containers.run(
        docker_host["image"],
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        cgroup_parent=f"{parent}.slice" if slice_ else f"/{parent}",
    )
    try:
        ContainerBackend(docker_host["image"], client=client)
        assert orphan.id not in {c["Id"] for c in client.api.containers(all=True)}
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            orphan.remove(force=True)


def test_a_failed_build_is_a_recorded_run(docker_host, sandbox_runs, tmp_path) -> None:
    """A Dockerfile submission is built by the run itself: its failure ends the record, with the build's log."""
    from hepbench.submission_kit.runner import Payload, run_submission
    from hepbench.submission_kit.sandbox.container import ContainerBackend
    from hepbench.submission_kit.sandbox.limits import Limits

    client = docker_host["client"]
    context = _dockerfile(tmp_path, "RUN echo compiling; exit 3\n")
    inputs = tmp_path / "input"
    inputs.mkdir()
    record = run_submission(
        "lhco",
        ContainerBackend(docker_host["image"], client=client),
        Payload("dockerfile", code_dir=context, image=docker_host["image"]),
        run_dir=make_run_root(sandbox_runs, prefix="build-"),
        limits=Limits(wall_seconds=60),
        input_dir=inputs,
        organiser_dir=tmp_path,
    )
    assert record["status"] == "crashed" and record["reason"].startswith("build: docker build failed")
    assert "compiling" in record["build"]["log_tail"] and record["build"]["seconds"] > 0
    (context / "Dockerfile").write_text("FROM hepbench-submission/someone-else:1\nRUN true\n")
    record = run_submission(
        "lhco",
        ContainerBackend(docker_host["image"], client=client),
        Payload("dockerfile", code_dir=context, image=docker_host["image"]),
        run_dir=make_run_root(sandbox_runs, prefix="build-"),
        limits=Limits(wall_seconds=60),
        input_dir=inputs,
        organiser_dir=tmp_path,
    )
    assert record["status"] == "refused" and "builds FROM ${BASE_IMAGE}" in record["reason"]


def test_a_worker_start_reaps_what_dead_runners_left(docker_host) -> None:
    """`leaderboard work` starts by removing sandbox containers past their deadline, before any run."""
    from hepbench.submission_kit.runner import reap_sandbox_leftovers
    from hepbench.submission_kit.sandbox.container import DEADLINE_LABEL

    client = docker_host["client"]
    orphan = client.containers.run(
        docker_host["image"],
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={"org.hepbench.sandbox": "1", DEADLINE_LABEL: str(int(time.time()) - 1)},
    )
    try:
        removed = reap_sandbox_leftovers()
        assert orphan.id[:12] in removed["containers_removed"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            orphan.remove(force=True)
