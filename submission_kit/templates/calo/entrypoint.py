"""Runs ``model.py`` on the public inputs, times the generation and writes the generated showers
(the same in a container and in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, ``geometry.json``, the training showers and
the incident energies to generate. Writes ``/output/showers.npy`` and then
``/output/timing.json`` (each to a temporary name, then renamed, so no half-written file is
scored).

Timing: after one untimed warm-up call of ``Model.sample`` on the first batch, the showers are
generated in batches of ``metadata.json``'s ``timing.batch_size`` incident energies (at most the
energies asked for), each ``sample`` call timed on the monotonic clock (CUDA work synchronised
before the clock stops). ``timing.json`` holds ``seconds`` (the sum over batches),
``batch_seconds``, ``warmup_seconds``, ``n_showers``, ``batch_size``, ``device`` and ``clock``;
the host checks it against the showers and the sandbox's wall time and reports the generation
time per shower. An image with its own entrypoint writes the same file the same way.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

INPUT = Path(os.environ.get("HEPBENCH_INPUT", "/input"))
OUTPUT = Path(os.environ.get("HEPBENCH_OUTPUT", "/output"))
DEFAULT_TIMING = {"file": "timing.json", "batch_size": 10_000, "clock": "monotonic"}


def _cuda_in_use() -> bool:
    # torch is looked up, never imported: a numpy model pays nothing for the check.
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized()


def _synchronise() -> None:
    if _cuda_in_use():
        sys.modules["torch"].cuda.synchronize()


def _device(model: Any) -> str:
    """The model's ``device`` attribute when it has one, else cuda when torch uses a GPU, else cpu."""
    device = getattr(model, "device", None)
    if device is not None and str(device).isprintable() and 0 < len(str(device)) <= 64:
        return str(device)
    return "cuda" if _cuda_in_use() else "cpu"


def _sample(model: Any, energies: np.ndarray, n_voxels: int) -> np.ndarray:
    showers = np.asarray(model.sample(energies), dtype=np.float32)
    if showers.shape != (len(energies), n_voxels):
        sys.exit(
            f"model.sample returned an array of shape {showers.shape} for {len(energies)} incident energies; "
            f"expected ({len(energies)}, {n_voxels}): one shower of n_voxels voxels per energy"
        )
    return showers


def timed_generation(model: Any, wanted: np.ndarray, n_voxels: int, batch_size: int) -> tuple[np.ndarray, dict]:
    """Showers (len(wanted), n_voxels) in MeV from ``model.sample`` in batches of
    ``min(batch_size, len(wanted))`` energies, and the timing record of ``timing.json`` (seconds)."""
    batch = max(1, min(int(batch_size), len(wanted)))
    start = time.monotonic_ns()
    _sample(model, wanted[:batch], n_voxels)  # warm-up: first-call costs stay out of the timing
    _synchronise()
    warmup = (time.monotonic_ns() - start) * 1e-9
    showers = np.empty((len(wanted), n_voxels), dtype=np.float32)
    batch_seconds = []
    for first in range(0, len(wanted), batch):
        energies = wanted[first : first + batch]
        start = time.monotonic_ns()
        part = _sample(model, energies, n_voxels)
        _synchronise()
        batch_seconds.append((time.monotonic_ns() - start) * 1e-9)
        showers[first : first + len(energies)] = part
    timing = {
        "seconds": float(sum(batch_seconds)),
        "batch_seconds": batch_seconds,
        "warmup_seconds": warmup,
        "n_showers": len(wanted),
        "batch_size": batch,
        "device": _device(model),
        "clock": "monotonic",
    }
    return showers, timing


def _write(name: str, write) -> None:
    partial = OUTPUT / (name + ".partial")
    with open(partial, "wb") as handle:
        write(handle)
    partial.replace(OUTPUT / name)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    files = meta["files"]
    timing_protocol = {**DEFAULT_TIMING, **meta.get("timing", {})}
    geometry = json.loads((INPUT / files["geometry"]).read_text())
    energy = np.load(INPUT / files["train_incident_energies"])
    showers = np.load(INPUT / files["train_showers"])
    print(f"training on {len(energy)} {meta['geometry']} showers of {meta['n_voxels']} voxels", flush=True)
    model = Model().fit(energy, showers, geometry)
    wanted = np.load(INPUT / files["generate_incident_energies"])
    generated, timing = timed_generation(model, wanted, int(meta["n_voxels"]), timing_protocol["batch_size"])
    print(
        f"generated {timing['n_showers']} showers in {timing['seconds']:.3f} s on {timing['device']} "
        f"(batches of {timing['batch_size']}, warm-up {timing['warmup_seconds']:.3f} s)",
        flush=True,
    )
    _write(meta["output"], lambda handle: np.save(handle, generated))
    _write(timing_protocol["file"], lambda handle: handle.write((json.dumps(timing, indent=1) + "\n").encode()))


if __name__ == "__main__":
    main()
