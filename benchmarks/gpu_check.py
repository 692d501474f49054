"""Every network family trained on an accelerator and checked against the CPU, in minutes.

Run it first on any machine with a CUDA device::

    python benchmarks/gpu_check.py --device cuda --json gpu_check.json

For each family (the HiggsML network with FGSM and with an adversary, the gradient-boosted trees on
CUDA, the LHCO classifier and flow, each calorimeter generator with the calorimeter evaluation
classifier) it trains the ``tiny`` configuration on the ``tiny`` preset three times: on the CPU with
training seeds ``s`` and ``s + 1`` and on ``--device`` with seed ``s``. Kernels differ between
devices, so the device run cannot reproduce the CPU numbers bit for bit; it passes when its metric lies
within ``--spread-factor`` times the CPU spread between the two seeds (and at least ``--tolerance``)
of the CPU run of the same seed. The JSON holds every run's metric, training time and device, and
the check's verdict; the exit status is 1 when a family fails and 2 when the device is missing.

``--reference FILE`` reuses the CPU runs of an earlier JSON (made with ``--device cpu`` elsewhere)
so that an accelerator lent for a few minutes spends them on the device runs only.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Family:
    """One network family: the baseline that trains it and the metric that judges it."""

    name: str
    challenge: str
    method: str
    metric: str
    options: dict[str, Any] = field(default_factory=dict)


_HIGGS = {"n_sets": 2, "n_pseudo_experiments": 5}
FAMILIES: tuple[Family, ...] = (
    Family("higgs-nn-fgsm", "higgs-uncertainty", "nn-fgsm-template-fit", "auc", _HIGGS),
    Family("higgs-nn-adversary", "higgs-uncertainty", "nn-adversarial-template-fit", "auc", _HIGGS),
    Family("higgs-xgboost", "higgs-uncertainty", "bdt-template-fit", "auc", _HIGGS),
    Family("lhco-classifier", "lhco", "supervised", "auc"),
    Family("lhco-flow", "lhco", "anode", "auc"),
    Family("calo-gan", "calo", "calo-gan", "auc_low"),
    Family("calo-flow", "calo", "calo-flow", "auc_low"),
    Family("calo-inn", "calo", "calo-inn", "auc_low"),
    Family("calo-diffusion", "calo", "calo-diffusion", "auc_low"),
    Family("calo-flow-matching", "calo", "calo-flow-matching", "auc_low"),
)


def run_family(family: Family, device: str, model_seed: int, data_seed: int) -> dict[str, Any]:
    """Train and score ``family`` once; its metric, training seconds and the device used."""
    from hepbench import challenges

    challenge = challenges.get(family.challenge)
    start = time.perf_counter()
    record = challenge.run_baseline(
        family.method,
        preset="tiny",
        seed=data_seed,
        size="tiny",
        device=device,
        model_seed=model_seed,
        progress=False,
        **family.options,
    )
    return {
        "metric": float(record["metrics"][family.metric]),
        "train_seconds": float(record.get("train_seconds", float("nan"))),
        "total_seconds": time.perf_counter() - start,
        "device": record.get("device", device),
        "model_seed": model_seed,
    }


def verdict(cpu: dict[str, Any], cpu_other: dict[str, Any], dev: dict[str, Any], factor: float, tol: float) -> dict:
    """Whether the device run agrees with the CPU run of its seed within the seed-to-seed spread."""
    spread = abs(cpu["metric"] - cpu_other["metric"])
    allowed = max(factor * spread, tol)
    difference = abs(dev["metric"] - cpu["metric"])
    return {"cpu_spread": spread, "allowed": allowed, "difference": difference, "ok": bool(difference <= allowed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="device to check against the CPU (default cuda)")
    parser.add_argument(
        "--families", default="all", help="comma-separated names, or all: " + ", ".join(f.name for f in FAMILIES)
    )
    parser.add_argument("--model-seed", type=int, default=11, help="training seed s (the CPU also trains s + 1)")
    parser.add_argument("--data-seed", type=int, default=7, help="seed of the tiny data sets")
    parser.add_argument("--spread-factor", type=float, default=3.0)
    parser.add_argument("--tolerance", type=float, default=0.02, help="smallest allowed difference of the metric")
    parser.add_argument("--reference", type=Path, help="JSON of an earlier run whose CPU runs are reused")
    parser.add_argument("--json", type=Path, default=Path("gpu_check.json"))
    args = parser.parse_args(argv)

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: --device {args.device}: torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        return 2
    chosen = FAMILIES if args.families == "all" else tuple(f for f in FAMILIES if f.name in args.families.split(","))
    unknown = set(args.families.split(",")) - {f.name for f in FAMILIES} if args.families != "all" else set()
    if unknown:
        print(f"error: --families: unknown {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    reference = json.loads(args.reference.read_text())["families"] if args.reference else {}

    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor()
    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": args.device,
        "device_name": device_name,
        "torch": torch.__version__,
        "versions": _versions(),
        "machine": platform.platform(),
        "model_seed": args.model_seed,
        "data_seed": args.data_seed,
        "families": {},
    }
    for family in chosen:
        runs = reference.get(family.name, {})
        try:
            cpu = runs.get("cpu") or run_family(family, "cpu", args.model_seed, args.data_seed)
            cpu_other = runs.get("cpu_other_seed") or run_family(family, "cpu", args.model_seed + 1, args.data_seed)
            # A CPU reference run (``--device cpu``) would train seed s on the CPU twice; reuse the first.
            dev = cpu if args.device == "cpu" else run_family(family, args.device, args.model_seed, args.data_seed)
        except Exception as error:  # one family's failure is recorded and the others still run
            out["families"][family.name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{family.name:20s} FAILED: {type(error).__name__}: {error}", flush=True)
        else:
            check = verdict(cpu, cpu_other, dev, args.spread_factor, args.tolerance)
            out["families"][family.name] = {"cpu": cpu, "cpu_other_seed": cpu_other, "device": dev, "check": check}
            print(
                f"{family.name:20s} {family.metric:8s} cpu {cpu['metric']:.3f} ({cpu['train_seconds']:6.1f} s)  "
                f"{dev['device']} {dev['metric']:.3f} ({dev['train_seconds']:6.1f} s)  "
                f"|diff| {check['difference']:.3f} <= {check['allowed']:.3f}: {'ok' if check['ok'] else 'FAIL'}",
                flush=True,
            )
        # Written after every family, so that a run stopped at a time limit keeps what it finished.
        args.json.write_text(json.dumps(out, indent=2))
    families = out["families"].values()
    return 0 if all("check" in r and r["check"]["ok"] for r in families) else 1


def _versions() -> dict[str, str]:
    """Versions of the packages whose kernels the check exercises."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("hepbench", "torch", "xgboost", "zuko", "numpy", "scikit-learn"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


if __name__ == "__main__":
    raise SystemExit(main())
