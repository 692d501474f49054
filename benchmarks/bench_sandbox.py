"""Start-up overhead of the sandboxes, and time to contain each hostile submission.

Usage: python benchmarks/bench_sandbox.py [--repeats 5] [--hostile] [--json out.json]   (as root)

Overhead: median host wall time of ``python3 -c pass`` run bare on the host, in a bubblewrap
sandbox and in a docker container (create, start, wait, remove), all with the same limits
and the same folders; the difference is the price of the sandbox per submission.
With ``--hostile``: every case of ``hepbench.submission_kit.sandbox.hostile`` on both backends, as a
table of outcome, reason and time to contain (host wall time from start request to the
sandbox being gone).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess

from timing import median_seconds

from hepbench.submission_kit.sandbox.base_image import BASE_IMAGE_TAG
from hepbench.submission_kit.sandbox.bubblewrap import BubblewrapBackend
from hepbench.submission_kit.sandbox.container import ContainerBackend
from hepbench.submission_kit.sandbox.hostile import CASES, HOSTILE_LIMITS, run_case
from hepbench.submission_kit.sandbox.workspace import make_run_root


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
        "platform": platform.platform(),
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
    shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
