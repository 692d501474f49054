"""The code backend under attack: every hostile case in a real bwrap sandbox, plus its limits."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from hepbench.submission_kit.sandbox import MIB, Limits
from hepbench.submission_kit.sandbox.hostile import CASES, HOSTILE_LIMITS, run_case
from hepbench.submission_kit.sandbox.result import LogCapture, classify
from hepbench.submission_kit.sandbox.workspace import make_run_root

PRIVILEGES = """
import json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
report = {"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status.get("NoNewPrivs", "").strip(),
          "root": sorted(os.listdir("/")), "interfaces": [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]}
for path in ["/tmp/x", "/output/x"]:
    open(path, "w").write("ok")
open("/output/report.json", "w").write(json.dumps(report))
"""


def _run_script(backend, script: str, limits: Limits, base):
    root = make_run_root(base, prefix="script-")
    (root / "input").mkdir()
    (root / "submission").mkdir()
    (root / "submission" / "main.py").write_text(script)
    outcome = backend.run(
        ["{python}", "main.py"],
        input_dir=root / "input",
        output_dir=root / "output",
        limits=limits,
        submission_dir=root / "submission",
    )
    return outcome, root / "output"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_hostile_submission_is_contained(bwrap_backend, sandbox_runs, case: str) -> None:
    result = run_case(bwrap_backend, case, sandbox_runs)
    assert result.contained, (result.problems, result.outcome.reason, result.outcome.log_tail[-800:])
    assert result.outcome.reason
    assert result.outcome.wall_seconds < HOSTILE_LIMITS.wall_seconds + 10


def test_sandbox_has_no_privileges_and_sees_only_its_folders(bwrap_backend, sandbox_runs) -> None:
    outcome, output = _run_script(bwrap_backend, PRIVILEGES, HOSTILE_LIMITS, sandbox_runs)
    assert outcome.ok, outcome.log_tail
    report = json.loads((output / "report.json").read_text())
    assert report["uid"] == 65534
    assert int(report["cap_eff"], 16) == 0
    assert report["interfaces"] == ["lo"]
    assert set(report["root"]) <= {
        "usr",
        "etc",
        "bin",
        "sbin",
        "lib",
        "lib64",
        "lib32",
        "libx32",
        "proc",
        "dev",
        "tmp",
        "input",
        "output",
        "submission",
        "opt",  # only the read-only submission runtime, /opt/hepbench-runtime
    }
    assert outcome.details["output_capped_by_host_tmpfs"] is True
    assert outcome.details["host_paths_hidden"] is True
    assert outcome.details["cgroup"] is not None
    assert 0 < outcome.peak_memory_bytes < HOSTILE_LIMITS.memory_bytes


def test_cpu_time_limit_kills(bwrap_backend, sandbox_runs) -> None:
    limits = Limits(wall_seconds=20, memory_bytes=256 * MIB, pids=16, cpu_seconds=1)
    outcome, _ = _run_script(bwrap_backend, "while True:\n    pass\n", limits, sandbox_runs)
    assert outcome.status == "killed", outcome
    assert "CPU-time limit" in outcome.reason
    assert outcome.wall_seconds < 10


def test_each_run_gets_its_own_user(bwrap_backend) -> None:
    assert os.geteuid() == 0
    uids = {bwrap_backend.sandbox_ids()[0] for _ in range(20)}
    assert len(uids) == 20 and all(uid >= 200_000 for uid in uids)


@pytest.mark.slow
def test_a_fork_bomb_leaves_a_neighbour_alone(bwrap_backend, sandbox_runs) -> None:
    """A well-behaved run beside a fork bomb finishes normally (the process budgets are per run)."""
    bomb = threading.Thread(target=run_case, args=(bwrap_backend, "fork-bomb", sandbox_runs))
    bomb.start()
    script = "import subprocess\nfor _ in range(20):\n    subprocess.run(['true'], check=True)\nprint('fine')\n"
    outcome, _ = _run_script(bwrap_backend, script, HOSTILE_LIMITS, sandbox_runs)
    bomb.join()
    assert outcome.ok, (outcome.reason, outcome.log_tail)
    assert "fine" in outcome.log_tail


def test_log_capture_keeps_head_and_tail_within_the_cap() -> None:
    log = LogCapture(100)
    log.feed(b"H" * 30)
    for _ in range(1000):
        log.feed(b"m" * 97)
    log.feed(b"T" * 50)
    text = log.text()
    assert log.total == 30 + 97_000 + 50 and log.truncated
    assert text.startswith("H" * 30) and text.endswith("T" * 50)
    assert len(text.encode()) - len(text.split("\n")[1]) <= 102


def test_statuses_come_from_host_facts() -> None:
    limits = Limits(wall_seconds=5, memory_bytes=64 * MIB)
    empty = LogCapture(10)
    assert classify(None, True, 0, empty, limits)[0] == "timeout"
    assert classify(137, False, 1, empty, limits)[0] == "oom"
    assert classify(0, False, 0, empty, limits)[0] == "ok"
    assert classify(137, False, 0, empty, limits)[:2] == ("killed", "killed by signal 9 (SIGKILL)")
    assert classify(3, False, 0, empty, limits) == ("crashed", "exited with status 3", None)


@pytest.mark.parametrize("field,value", [("wall_seconds", 0), ("memory_bytes", 1024), ("pids", -1), ("cpu_seconds", 0)])
def test_limits_reject_nonsense(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})


def test_gpu_runs_are_refused_rather_than_run_without_one(bwrap_backend, sandbox_runs) -> None:
    with pytest.raises(ValueError, match="no GPU; use the docker backend"):
        _run_script(bwrap_backend, "print('x')", Limits(wall_seconds=5, gpu=True), sandbox_runs)


def test_staged_folders_hide_host_paths_and_leave_the_host_intact(bwrap_backend, sandbox_runs) -> None:
    """The read-only views are overlays with relative layer paths; a runner that dies with its
    views mounted leaves them to the next one, and removing them never touches the folders."""
    import subprocess

    from hepbench.submission_kit.sandbox.workspace import StagedFolders, mounts_under, remove_stale_stages

    folder = make_run_root(sandbox_runs, prefix="stage-") / "input"
    folder.mkdir()
    (folder / "data.txt").write_text("public input\n")
    staged = StagedFolders({"input": folder, "submission": None}).__enter__()  # never exited: a crash
    assert staged.hidden, staged.reason
    view = staged.paths["input"]
    assert (view / "data.txt").read_text() == "public input\n"
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    line = next(x for x in mountinfo if x.split()[4] == str(view))
    assert str(folder) not in line and "lowerdir=lower/input:empty" in line
    with pytest.raises(OSError):
        (view / "planted").write_text("x")  # read-only
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = staged.root / "owner.json"
    owner.write_text(json.dumps({"pid": dead.pid, "start_ticks": -1}))
    assert remove_stale_stages() >= 1
    assert not staged.root.exists() and not mounts_under(staged.root)
    assert (folder / "data.txt").read_text() == "public input\n"
