"""Runs ``model.py`` on the public inputs and writes the answers (the same in a container and
in the code sandbox).

Reads ``/input`` (read-only): ``metadata.json``, the training set and one ``.npy`` file of
observed events per pseudo-experiment. Writes ``/output/answers.json`` after every
pseudo-experiment (write to a temporary name, then rename), so a crash keeps what was done.

Two model interfaces, told apart by ``Model``'s signature (``ADAPTERS``): hepbench's
(``Model()``, ``fit(train)``, ``predict(data)``) and the FAIR Universe starting kit's
(``Model(get_train_set=..., systematics=...)``, ``fit()``, ``predict(test_set)``), whose
arguments come from ``_hepbench/fair_universe.py`` as the kit's ingestion program gives them.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator
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


def pseudo_experiments(meta: dict) -> Iterator[tuple[dict, np.ndarray]]:
    for entry in meta["pseudo_experiments"]:
        yield entry, np.load(INPUT / entry["file"])


def hepbench_model(model_class: type, meta: dict) -> Callable[[np.ndarray], dict]:
    """``Model()``, ``fit(train DataFrame)``, ``predict(DataFrame of one pseudo-experiment)``."""
    model = model_class()
    model.fit(load_train(meta))
    return lambda features: model.predict(pd.DataFrame(features, columns=meta["features"]))


def fair_universe_model(model_class: type, meta: dict) -> Callable[[np.ndarray], dict]:
    """``Model(get_train_set=..., systematics=...)``, ``fit()``, ``predict({"data", "weights"})``."""
    from _hepbench import fair_universe

    train = load_train(meta)
    train["detailed_labels"] = train["detailed_labels"].astype(str)
    model = model_class(get_train_set=fair_universe.TrainSetLoader(train), systematics=fair_universe.systematics)
    model.fit()
    return lambda features: model.predict(fair_universe.test_set(features, meta["features"]))


ADAPTERS: dict[str, Callable[[type, dict], Callable[[np.ndarray], dict]]] = {
    "hepbench": hepbench_model,
    "fair-universe": fair_universe_model,
}


def interface(model_class: type) -> str:
    """``fair-universe`` when ``Model`` takes the kit's ``get_train_set`` / ``systematics``."""
    parameters = inspect.signature(model_class).parameters
    return "fair-universe" if {"get_train_set", "systematics"} & set(parameters) else "hepbench"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import Model

    meta = json.loads((INPUT / "metadata.json").read_text())
    kind = interface(Model)
    print(f"model interface: {kind}", flush=True)
    predict = ADAPTERS[kind](Model, meta)
    answers = []
    for entry, features in pseudo_experiments(meta):
        result = predict(features)
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
