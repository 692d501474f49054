"""Runs ``model.py`` on the public inputs and writes the generated showers (the same in a
container and in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, ``geometry.json``, the training showers and
the incident energies to generate. Writes ``/output/showers.npy`` (write to a temporary name,
then rename, so no half-written file is scored).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

INPUT = Path(os.environ.get("HEPBENCH_INPUT", "/input"))
OUTPUT = Path(os.environ.get("HEPBENCH_OUTPUT", "/output"))


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    files = meta["files"]
    geometry = json.loads((INPUT / files["geometry"]).read_text())
    energy = np.load(INPUT / files["train_incident_energies"])
    showers = np.load(INPUT / files["train_showers"])
    print(f"training on {len(energy)} {meta['geometry']} showers of {meta['n_voxels']} voxels", flush=True)
    model = Model().fit(energy, showers, geometry)
    wanted = np.load(INPUT / files["generate_incident_energies"])
    start = time.perf_counter()
    generated = np.asarray(model.sample(wanted), dtype=np.float32)
    print(f"generated {len(generated)} showers in {time.perf_counter() - start:.2f} s", flush=True)
    partial = OUTPUT / (meta["output"] + ".partial")
    with open(partial, "wb") as handle:
        np.save(handle, generated)
    partial.replace(OUTPUT / meta["output"])


if __name__ == "__main__":
    main()
