"""Runs ``model.py`` on the public inputs and writes the predictions (the same in a container and
in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, ``train_x.npy`` (rows x features),
``train_y.npy`` (rows) and ``test_x.npy``. Writes ``/output/predictions.npy``, one value per row
of ``test_x.npy`` (to a temporary name first, then renamed, so no half-written file is scored).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

INPUT = Path(os.environ.get("HEPBENCH_INPUT", "/input"))
OUTPUT = Path(os.environ.get("HEPBENCH_OUTPUT", "/output"))


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    files = meta["files"]
    x_train, y_train = np.load(INPUT / files["train_x"]), np.load(INPUT / files["train_y"])
    x_test = np.load(INPUT / files["test_x"])
    print(f"fitting on {len(x_train)} rows of {x_train.shape[1]} features", flush=True)
    prediction = np.asarray(Model().fit(x_train, y_train).predict(x_test), dtype=np.float64).reshape(-1)
    name = meta["outputs"]["predictions"]
    partial = OUTPUT / (name + ".partial")
    with open(partial, "wb") as handle:
        np.save(handle, prediction)
    partial.replace(OUTPUT / name)
    print(f"wrote {len(prediction)} predictions -> {name}", flush=True)


if __name__ == "__main__":
    main()
