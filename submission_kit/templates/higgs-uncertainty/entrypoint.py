"""Runs ``model.py`` on the public inputs and writes the answers (the same in a container and
in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, the training set and one ``.npy`` file of
observed events per pseudo-experiment. Writes ``/output/answers.json`` after every
pseudo-experiment (write to a temporary name, then rename), so a crash keeps what was done.
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


def load_train(meta: dict) -> pd.DataFrame:
    files = meta["train"]
    train = pd.DataFrame(np.load(INPUT / files["features"]), columns=meta["features"])
    train["weights"] = np.load(INPUT / files["weights"])
    train["labels"] = np.load(INPUT / files["labels"])
    codes = np.load(INPUT / files["detailed_labels"])
    train["detailed_labels"] = pd.Categorical.from_codes(codes, categories=meta["processes"])
    return train


def write_answers(answers: list[dict], name: str) -> None:
    partial = OUTPUT / (name + ".partial")
    partial.write_text(json.dumps({"answers": answers}, indent=1))
    partial.replace(OUTPUT / name)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    model = Model()
    model.fit(load_train(meta))
    answers = []
    for entry in meta["pseudo_experiments"]:
        data = pd.DataFrame(np.load(INPUT / entry["file"]), columns=meta["features"])
        result = model.predict(data)
        answers.append(
            {
                "set_index": entry["set_index"],
                "pe_index": entry["pe_index"],
                **{key: float(result[key]) for key in meta["answer_keys"]},
            }
        )
        write_answers(answers, meta["answers_file"])
        print(
            f"pseudo-experiment {entry['set_index']}/{entry['pe_index']}: mu_hat = {answers[-1]['mu_hat']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
