"""Runs ``model.py`` on the public inputs and writes the anomaly scores (the same in a container
and in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, the unlabelled ``data.npy`` and the two files to
score (``test.npy``, ``bump_hunt.npy``). Writes one ``.npy`` of scores per scored file to
``/output`` (write to a temporary name, then rename, so no half-written file is scored).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

INPUT = Path(os.environ.get("HEPBENCH_INPUT", "/input"))
OUTPUT = Path(os.environ.get("HEPBENCH_OUTPUT", "/output"))


def load(meta: dict, name: str) -> pd.DataFrame:
    return pd.DataFrame(np.load(INPUT / meta["files"][name]["file"]), columns=meta["columns"])


def write_scores(scores: np.ndarray, name: str) -> None:
    partial = OUTPUT / (name + ".partial")
    with open(partial, "wb") as handle:
        np.save(handle, np.asarray(scores, dtype=np.float64).reshape(-1))
    partial.replace(OUTPUT / name)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    data = load(meta, "data")
    print(f"fitting on {len(data)} events, signal region {meta['signal_region']} TeV", flush=True)
    model = Model().fit(data, signal_region=tuple(meta["signal_region"]))
    for name, output in meta["outputs"].items():
        write_scores(model.predict(load(meta, name)), output)
        print(f"scored {name}: {meta['files'][name]['n_events']} events -> {output}", flush=True)


if __name__ == "__main__":
    main()
