"""Hostile submissions, and the host-side checks that each one was contained.

Every case is a Python script run with ``python3 main.py`` in ``/submission`` under small
limits (``HOSTILE_LIMITS``). ``run_case`` runs it through a backend and returns the outcome
with the list of containment failures (empty when the host, the organiser's files and the
other runs were unaffected). Organisers can run them against their own deployment; the test
suite runs them on every backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .backend import Backend
from .limits import MIB, Limits
from .result import CRASHED, KILLED, OK, OOM, TIMEOUT, RunOutcome
from .workspace import MAX_OUTPUT_FILES, make_run_root

HOSTILE_LIMITS = Limits(
    wall_seconds=6.0,
    memory_bytes=256 * MIB,
    cpus=1.0,
    pids=64,
    file_size_bytes=32 * MIB,
    output_bytes=64 * MIB,
    tmp_bytes=32 * MIB,
    log_bytes=64 * 1024,
)

NETWORK = """
import json, socket
report = {}
for name, host, port in [("host", HOST_IP, PORT), ("loopback", "127.0.0.1", PORT), ("internet", "1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        report[name] = "connected"
    except OSError as err:
        report[name] = "blocked: " + str(err)
try:
    socket.getaddrinfo("deb.debian.org", 80)
    report["dns"] = "resolved"
except OSError as err:
    report["dns"] = "blocked: " + str(err)
open("/output/report.json", "w").write(json.dumps(report))
"""

READ_TRUTH = """
import json, os
report = {}
for path in SECRETS + ["/etc/shadow", "/root/.bash_history"]:
    try:
        with open(path) as handle:
            report[path] = "read: " + handle.read(64)
    except OSError as err:
        report[path] = "blocked: " + type(err).__name__
for folder in ["/root", "/work", "/var/tmp", "/home", "/input/.."]:
    try:
        report["ls " + folder] = sorted(os.listdir(folder))
    except OSError as err:
        report["ls " + folder] = "blocked: " + type(err).__name__
open("/output/report.json", "w").write(json.dumps(report))
"""

WRITE_OUTSIDE = """
import json
report = {}
for path in ["/input/planted", "/input/data.txt", "/submission/planted", "/etc/planted", "/usr/planted", "/planted",
             ESCAPE]:
    try:
        with open(path, "w") as handle:
            handle.write("planted")
        report[path] = "written"
    except OSError as err:
        report[path] = "blocked: " + type(err).__name__
open("/output/report.json", "w").write(json.dumps(report))
"""

FORK_BOMB = """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""

MEMORY = """
chunks = []
while True:
    chunks.append(b"x" * (8 << 20))
"""

FILL_DISK = """
import os
try:
    with open("/output/one-big-file", "wb") as handle:
        while True:
            handle.write(b"\\0" * (1 << 20))
except OSError as err:
    print("single file stopped:", err, flush=True)
os.remove("/output/one-big-file")
i = 0
while True:
    with open("/output/fill%04d" % i, "wb") as handle:
        for _ in range(16):
            handle.write(b"\\0" * (1 << 20))
    i += 1
"""

SLEEP = """
import time
print("sleeping", flush=True)
time.sleep(10 ** 6)
"""

PRINT_FLOOD = """
import sys
chunk = b"y" * (1 << 20)
for _ in range(8 << 10):
    sys.stdout.buffer.write(chunk)
"""

CRASH = """
import json
open("/output/answers.json", "w").write(json.dumps({"answers": [{"set_index": 0, "pe_index": 0}]}))
print("half way", flush=True)
raise RuntimeError("model diverged after the first pseudo-experiment")
"""


PLANT_LINKS = """
import os
os.symlink("/etc/shadow", "/output/answers.json")
os.symlink("/", "/output/host-root")
os.mkfifo("/output/report.json")
for i in range(5000):
    try:
        open("/output/many%05d" % i, "w").close()
    except OSError as err:
        print("inodes stopped at", i, err, flush=True)
        break
"""


@dataclass
class CaseResult:
    case: str
    outcome: RunOutcome
    problems: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)

    @property
    def contained(self) -> bool:
        return not self.problems


def _host_ip() -> str:
    """An address of this host other than loopback (the sandbox must not reach it either)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for a UDP connect
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


class _Listener:
    """A TCP server on every host address that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class _ProcessSampler:
    """Most processes on the host during a run (a fork bomb must not show here)."""

    def __init__(self) -> None:
        self.baseline = self.count()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def count() -> int:
        return sum(1 for name in os.listdir("/proc") if name.isdigit())

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.count())
            self._stop.wait(0.05)

    def close(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.baseline


def _sha256_tree(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _report(output_dir: Path) -> dict:
    path = output_dir / "report.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _expect(problems: list[str], outcome: RunOutcome, statuses: tuple[str, ...]) -> None:
    if outcome.status not in statuses:
        problems.append(f"status {outcome.status!r} ({outcome.reason}), expected one of {statuses}")


def _host_still_works(problems: list[str]) -> None:
    done = subprocess.run(["true"], capture_output=True)
    if done.returncode != 0:
        problems.append("the host cannot start a process after the run")


ESCALATE = """
import json, os, subprocess
report = {}
try:
    done = subprocess.run(["unshare", "-Urm", "id", "-u"], capture_output=True, text=True, timeout=5)
    report["nested user namespace"] = done.stdout.strip() if done.returncode == 0 else "blocked: " + done.stderr.strip()[-200:]
except (OSError, subprocess.SubprocessError) as err:
    report["nested user namespace"] = "blocked: " + str(err)
written = 0
try:
    with open("/dev/shm/fill", "wb") as handle:
        block = b"x" * (1 << 20)
        for _ in range(200):
            handle.write(block)
            handle.flush()
            written += len(block)
except OSError:
    pass
report["shm_bytes"] = written
report["usr_local_bin"] = sorted(os.listdir("/usr/local/bin")) if os.path.isdir("/usr/local/bin") else []
report["etc_entries"] = len(os.listdir("/etc"))
open("/output/report.json", "w").write(json.dumps(report))
"""

MOUNTINFO = """
import json
report = {"mountinfo": open("/proc/self/mountinfo").read(), "mounts": open("/proc/mounts").read()}
for path in ["/proc/1/mountinfo", "/proc/self/mountstats"]:
    try:
        report[path] = open(path).read()
    except OSError as err:
        report[path] = "blocked: " + type(err).__name__
open("/output/report.json", "w").write(json.dumps(report))
"""

CASES: tuple[str, ...] = (
    "network",
    "read-truth",
    "write-outside",
    "plant-links",
    "fork-bomb",
    "memory",
    "fill-disk",
    "sleep",
    "print-flood",
    "crash",
    "escalate",
    "mountinfo",
)


def run_case(backend: Backend, case: str, base: Path | None = None, limits: Limits = HOSTILE_LIMITS) -> CaseResult:
    """Run hostile ``case`` through ``backend`` and check that it was contained."""
    if case not in CASES:
        raise ValueError(f"unknown hostile case {case!r}; choose from {CASES}")
    root = make_run_root(base, prefix=f"hostile-{case}-")
    input_dir, submission_dir, output_dir = root / "input", root / "submission", root / "output"
    input_dir.mkdir()
    submission_dir.mkdir()
    (input_dir / "data.txt").write_text("public input\n")
    # Organiser files: one private (0700 folder), one world-readable, both outside the run's folders.
    private = Path(tempfile.mkdtemp(prefix="hepbench-organiser-"))
    (private / "truth.json").write_text('{"mu_true": 1.234}')
    public_dir = Path(tempfile.mkdtemp(prefix="hepbench-truth-", dir="/var/tmp"))
    os.chmod(public_dir, 0o755)
    (public_dir / "truth.json").write_text('{"mu_true": 1.234}')
    os.chmod(public_dir / "truth.json", 0o644)
    escape_dir = Path(tempfile.mkdtemp(prefix="hepbench-escape-", dir="/var/tmp"))
    os.chmod(escape_dir, 0o777)
    escape = escape_dir / "planted"
    listener = _Listener() if case == "network" else None
    settings = {
        "network": f"HOST_IP = {_host_ip()!r}\nPORT = {listener.port if listener else 0}\n",
        "read-truth": f"SECRETS = {[str(private / 'truth.json'), str(public_dir / 'truth.json')]!r}\n",
        "write-outside": f"ESCAPE = {str(escape)!r}\n",
    }.get(case, "")
    script = {
        "network": NETWORK,
        "read-truth": READ_TRUTH,
        "write-outside": WRITE_OUTSIDE,
        "fork-bomb": FORK_BOMB,
        "memory": MEMORY,
        "fill-disk": FILL_DISK,
        "sleep": SLEEP,
        "print-flood": PRINT_FLOOD,
        "crash": CRASH,
        "plant-links": PLANT_LINKS,
        "escalate": ESCALATE,
        "mountinfo": MOUNTINFO,
    }[case]
    (submission_dir / "main.py").write_text(settings + script)
    input_hash = _sha256_tree(input_dir)
    processes = _ProcessSampler()
    try:
        outcome = backend.run(
            ["{python}", "main.py"],
            input_dir=input_dir,
            output_dir=output_dir,
            limits=limits,
            submission_dir=submission_dir,
        )
    finally:
        extra_processes = processes.close()
        if listener is not None:
            listener.close()
    problems: list[str] = []
    evidence: dict = {"extra_host_processes": extra_processes}
    report = _report(output_dir)
    if case in ("network", "read-truth", "write-outside"):
        _expect(problems, outcome, (OK,))
        evidence["report"] = report
        if not report:
            problems.append("the submission's report.json is missing")
        leaks = {k: v for k, v in report.items() if not (isinstance(v, str) and v.startswith("blocked"))}
        if case == "read-truth":
            leaks = {
                k: v
                for k, v in leaks.items()
                if not k.startswith("ls ") or any("truth" in str(x) or "hepbench" in str(x) for x in v)
            }
        if leaks:
            problems.append(f"not blocked: {leaks}")
        if listener is not None and listener.accepted:
            problems.append(f"the host's listener accepted {listener.accepted} connection(s)")
        if escape.exists():
            problems.append(f"{escape} was written on the host")
        if _sha256_tree(input_dir) != input_hash:
            problems.append("the input folder changed")
    elif case == "escalate":
        _expect(problems, outcome, (OK,))
        evidence["report"] = report
        userns = str(report.get("nested user namespace", ""))
        if not userns.startswith("blocked"):
            problems.append(f"a nested user namespace was created (uid {userns} inside)")
        if report.get("shm_bytes", 0) > limits.tmp_bytes:
            problems.append(f"{report['shm_bytes']} bytes written to /dev/shm, above the {limits.tmp_bytes} cap")
        if report.get("usr_local_bin"):
            problems.append(f"the host's /usr/local/bin is visible: {report['usr_local_bin'][:5]}")
    elif case == "mountinfo":
        _expect(problems, outcome, (OK,))
        text = "\n".join(str(v) for v in report.values())
        evidence["mount_lines"] = report.get("mountinfo", "").count("\n")
        if not report.get("mountinfo"):
            problems.append("the submission's report.json is missing")
        # The run's folders by their host paths, and the run folder's own (random) name.
        named = [str(p) for p in (root, input_dir, submission_dir, output_dir)] + [root.name, str(root.parent)]
        shown = sorted({name for name in named if name in text})
        if shown:
            problems.append(f"/proc/self/mountinfo shows host paths of the run: {shown}")
    elif case == "plant-links":
        _expect(problems, outcome, (OK,))
        kept = outcome.details.get("output_files", [])
        evidence["output_files_kept"] = len(kept)
        planted = [name for name in ("answers.json", "host-root", "report.json") if name in kept]
        planted += [str(p) for p in output_dir.rglob("*") if p.is_symlink() or (p.exists() and not p.is_file())]
        if planted:
            problems.append(f"links or FIFOs reached the organiser's copy: {planted}")
        if len(kept) > MAX_OUTPUT_FILES:
            problems.append(f"{len(kept)} output files kept, limit {MAX_OUTPUT_FILES}")
    elif case == "fork-bomb":
        _expect(problems, outcome, (TIMEOUT, CRASHED, KILLED))
        if extra_processes > limits.pids + 32:
            problems.append(f"{extra_processes} extra processes on the host (limit {limits.pids})")
    elif case == "memory":
        _expect(problems, outcome, (OOM,))
        if outcome.peak_memory_bytes is not None and outcome.peak_memory_bytes > 1.1 * limits.memory_bytes:
            problems.append(f"peak memory {outcome.peak_memory_bytes} above the limit {limits.memory_bytes}")
    elif case == "fill-disk":
        _expect(problems, outcome, (CRASHED,))
        kept = sum(p.stat().st_size for p in output_dir.rglob("*") if p.is_file())
        evidence["output_bytes_kept"] = kept
        if kept > limits.output_bytes:
            problems.append(f"{kept} bytes of output kept, limit {limits.output_bytes}")
        if "single file stopped" not in outcome.log_tail:
            problems.append("the single-file size limit did not stop the first file")
    elif case == "sleep":
        _expect(problems, outcome, (TIMEOUT,))
    elif case == "print-flood":
        _expect(problems, outcome, (TIMEOUT, OK))
        if len(outcome.log_tail.encode()) > limits.log_bytes + 200:
            problems.append(f"kept {len(outcome.log_tail.encode())} bytes of log, limit {limits.log_bytes}")
        if not outcome.log_truncated:
            problems.append("the log was not truncated")
    elif case == "crash":
        _expect(problems, outcome, (CRASHED,))
        if "model diverged" not in outcome.log_tail:
            problems.append("the traceback is not in the log")
        if not (output_dir / "answers.json").is_file():
            problems.append("the partial output was lost")
    if case in ("fork-bomb", "sleep", "print-flood") and outcome.wall_seconds > limits.wall_seconds + 10:
        problems.append(f"took {outcome.wall_seconds:.1f} s to contain, wall limit {limits.wall_seconds} s")
    _host_still_works(problems)
    evidence["run_dir"] = str(root)
    for folder in (private, public_dir, escape_dir):
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    return CaseResult(case, outcome, problems, evidence)
