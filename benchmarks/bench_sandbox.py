"""Start-up overhead of the sandboxes, and time to contain each hostile submission.

Usage: python benchmarks/bench_sandbox.py [--repeats 5] [--hostile] [--json out.json]   (as root)

Overhead: median host wall time of ``python3 -c pass`` run bare on the host, in a bubblewrap
sandbox and in a docker container (create, start, wait, remove), all with the same limits
and the same folders; the difference is the price of the sandbox per submission.
With ``--hostile``: every case of ``hepbench.submission_kit.sandbox.hostile`` on both backends, as a
table of outcome, reason and time to contain (host wall time from start request to the
sandbox being gone), then hostile Dockerfile builds on the docker backend (a build past its
deadline, one that fills the daemon's disk) under the same limits.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess

from timing import machine, median_seconds

from hepbench.submission_kit.sandbox.base_image import BASE_IMAGE_TAG
from hepbench.submission_kit.sandbox.bubblewrap import BubblewrapBackend
from hepbench.submission_kit.sandbox.container import ContainerBackend
from hepbench.submission_kit.sandbox.hostile import CASES, HOSTILE_LIMITS, run_case
from hepbench.submission_kit.sandbox.workspace import make_run_root

HOSTILE_BUILDS = {
    "build-deadline": "RUN while true; do echo tick; sleep 0.2; done\n",
    "build-disk": "RUN for i in $(seq 1 200); do head -c 16000000 /dev/zero > /f$i; done; sleep 600\n",
    "build-ok": "RUN python3 -c 'import numpy; print(numpy.__version__)'\n",
}


def hostile_builds(client, root) -> list[dict]:
    """Each ``HOSTILE_BUILDS`` Dockerfile built under ``HOSTILE_LIMITS``: status, seconds, kill time."""
    from hepbench.submission_kit.sandbox.container import BuildFailed, build_containers, build_image

    rows = []
    for case, body in HOSTILE_BUILDS.items():
        context = root / case
        context.mkdir()
        (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" + body)
        try:
            build = build_image(
                client, context, f"hepbench-bench/{case}:1", {"BASE_IMAGE": BASE_IMAGE_TAG}, HOSTILE_LIMITS
            )
            client.images.remove(build["image"], force=True)
        except BuildFailed as err:
            build = err.build
        row = {
            k: build.get(k) for k in ("status", "reason", "seconds", "kill_seconds", "disk_bytes", "peak_memory_bytes")
        }
        row.update(case=case, containers_left=len(build_containers(client)))
        rows.append(row)
        kill = "" if row["kill_seconds"] is None else f"{row['kill_seconds']:.3f}"
        print(
            f"| {case} | docker | {row['status']} | {row['reason']} | {row['seconds']:.2f} | {kill} | "
            f"{row['disk_bytes'] >> 20} MiB written, {row['containers_left']} containers left |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hostile", action="store_true", help="Also run the hostile suite on both backends.")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    backends = {"bubblewrap": BubblewrapBackend(), "docker": ContainerBackend(BASE_IMAGE_TAG)}
    root = make_run_root(prefix="bench-")
    (root / "input").mkdir()
    (root / "submission").mkdir()
    counter = iter(range(10**6))

    def sandboxed(backend) -> None:
        outcome = backend.run(
            ["{python}", "-c", "pass"],
            input_dir=root / "input",
            output_dir=root / f"out{next(counter)}",
            limits=HOSTILE_LIMITS,
            submission_dir=root / "submission",
        )
        assert outcome.ok, outcome.reason

    bare = median_seconds(
        lambda: subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True), args.repeats, warmup=True
    )
    timings = {"bare python3": bare}
    for name, backend in backends.items():
        timings[name] = median_seconds(lambda: sandboxed(backend), args.repeats, warmup=True)
    print(f"{'run of python3 -c pass':28s} {'median s':>9s} {'overhead s':>11s}")
    for name, seconds in timings.items():
        print(f"{name:28s} {seconds:9.3f} {seconds - bare:11.3f}")
    report = {
        "machine": machine(),
        "repeats": args.repeats,
        "median_seconds": timings,
        "overhead_seconds": {k: v - bare for k, v in timings.items() if k != "bare python3"},
    }

    if args.hostile:
        rows = []
        print("\n| case | backend | outcome | reason | time to contain (s) | kill after deadline (s) | contained |")
        print("|---|---|---|---|---|---|---|")
        for case in CASES:
            for name, backend in backends.items():
                result = run_case(backend, case)
                o = result.outcome
                rows.append(
                    {
                        "case": case,
                        "backend": name,
                        "status": o.status,
                        "reason": o.reason,
                        "seconds": o.wall_seconds,
                        "kill_seconds": o.kill_seconds,
                        "peak_memory_bytes": o.peak_memory_bytes,
                        "log_bytes_total": o.log_bytes_total,
                        "contained": result.contained,
                        "problems": result.problems,
                    }
                )
                kill = "" if o.kill_seconds is None else f"{o.kill_seconds:.3f}"
                print(
                    f"| {case} | {name} | {o.status} | {o.reason} | {o.wall_seconds:.2f} | {kill} | "
                    f"{'yes' if result.contained else 'NO: ' + '; '.join(result.problems)} |"
                )
                shutil.rmtree(result.evidence["run_dir"], ignore_errors=True)
        report["hostile"] = rows
        report["hostile_builds"] = hostile_builds(backends["docker"].client, root)
    shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
