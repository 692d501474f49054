"""HiggsML Uncertainty through the sandbox: public inputs in, one answer per pseudo-experiment out.

``/input`` holds numpy files only (any python3 with numpy reads them):

- ``metadata.json``: feature and process names, the files below, and the pseudo-experiments to
  answer as ``{"set_index", "pe_index", "file"}`` (no true signal strength, no nuisances);
- ``train/features.npy`` (float32, events x 28; nominal selection applied), ``train/weights.npy`` (float64, expected
  events per row), ``train/labels.npy`` (int8, 1 = signal), ``train/detailed_labels.npy``
  (int8 index into ``processes``);
- ``pseudo_experiments/set{S}_pe{P}.npy`` (float32, events x 28): the observed events.

``/output/answers.json`` is ``{"answers": [{"set_index", "pe_index", "mu_hat", "delta_mu_hat",
"p16", "p84"}, ...]}`` with one row per pseudo-experiment. The test plan (true mu and nuisances)
stays in the organiser folder, which the sandbox never sees; scoring reads it there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..outputs import OutputError, read_json_output, require_finite, require_int, require_list, require_mapping
from ..secrets import record_secrets, seed_or_secret
from .dataset import generate_dataset, load_dataset
from .presets import get_preset
from .protocol import ANSWER_KEYS, AnswerError, validate_answer
from .pseudo_experiments import PseudoExperimentSampler, TestPlan, make_test_plan
from .schema import FEATURES, PROCESSES
from .systematics import systematics

CHALLENGE = "higgs-uncertainty"
ANSWERS_FILE = "answers.json"
PLAN_FILE = "plan.json"
VALIDATE_OPTIONS: dict[str, Any] = {"preset": "tiny", "n_sets": 1, "n_pseudo_experiments": 2, "train_events": 20_000}
"""The tiny inputs of ``hepbench submission validate``: 20k training events, two pseudo-experiments."""


def subsample_train(train: pd.DataFrame, n_events: int, seed: int) -> pd.DataFrame:
    """``n_events`` rows drawn without replacement, weights scaled per process to keep the yields."""
    if n_events >= len(train):
        return train
    rng = np.random.default_rng([seed, 0x7375])
    picked = train.iloc[np.sort(rng.choice(len(train), size=n_events, replace=False))].copy()
    full = train.groupby("detailed_labels", observed=True)["weights"].sum()
    kept = picked.groupby("detailed_labels", observed=True)["weights"].sum()
    picked["weights"] *= picked["detailed_labels"].map(full / kept).astype(np.float64).to_numpy()
    return picked.reset_index(drop=True)


def check_room(input_dir: Path, test_set: pd.DataFrame, n_pseudo_experiments: int) -> int:
    """Expected bytes of the pseudo-experiment files; ValueError when the disk lacks room for them.

    Every pseudo-experiment is written up front (about 112 bytes per observed event), so the
    anchor-size plan (1000 pseudo-experiments of about a million events) needs some 110 GB.
    """
    mu_max = 3.0  # the largest true signal strength of the prior
    events = float(test_set["weights"].sum()) + (mu_max - 1.0) * float(
        test_set.loc[test_set["labels"] == 1, "weights"].sum()
    )
    needed = int(1.1 * events * len(FEATURES) * 4 * n_pseudo_experiments)
    probe = input_dir
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise ValueError(
            f"{input_dir}: the {n_pseudo_experiments} pseudo-experiments need about {needed / 1e9:.1f} GB "
            f"and {free / 1e9:.1f} GB are free; use fewer --sets / --pseudo-experiments or a smaller preset"
        )
    return needed


def write_inputs(
    input_dir: str | Path,
    organiser_dir: str | Path,
    *,
    preset: str = "tiny",
    seed: int | None = None,
    n_sets: int | None = None,
    n_pseudo_experiments: int | None = None,
    plan_seed: int | None = None,
    train_events: int | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write the public inputs to ``input_dir`` and the test plan (the truth) to ``organiser_dir``.

    The data come from ``data_dir`` (``hepbench data generate``) or are generated from
    ``preset`` and ``seed``. Without ``seed`` / ``plan_seed`` both are secret (drawn from the
    operating system's entropy, kept in ``organiser_dir/secrets.json``), so no public seed gives
    the true signal strengths away. Returns a summary: preset, events, pseudo-experiments.
    """
    input_dir, organiser_dir = Path(input_dir), Path(organiser_dir)
    organiser_dir.mkdir(parents=True, exist_ok=True)
    organiser_dir.chmod(0o700)
    seed = seed_or_secret(seed)
    plan_seed = seed_or_secret(plan_seed)
    dataset = load_dataset(data_dir) if data_dir is not None else generate_dataset(preset, seed)
    record_secrets(organiser_dir, data_seed=dataset.seed, plan_seed=plan_seed)
    spec = get_preset(dataset.preset)
    plan = make_test_plan(n_sets or spec.n_sets, n_pseudo_experiments or spec.n_pseudo_experiments, plan_seed)
    check_room(input_dir, dataset.test, plan.n_sets * plan.n_pseudo_experiments)
    plan.to_json(organiser_dir / PLAN_FILE)

    # The nominal selection and derived features, as in every pseudo-experiment (the sandbox has no
    # hepbench to apply them itself).
    train = systematics(dataset.train, seed=seed)
    train = train if train_events is None else subsample_train(train, train_events, seed)
    (input_dir / "train").mkdir(parents=True, exist_ok=True)
    (input_dir / "pseudo_experiments").mkdir(exist_ok=True)
    np.save(input_dir / "train" / "features.npy", train[list(FEATURES)].to_numpy(np.float32))
    np.save(input_dir / "train" / "weights.npy", train["weights"].to_numpy(np.float64))
    np.save(input_dir / "train" / "labels.npy", train["labels"].to_numpy(np.int8))
    codes = pd.Categorical(train["detailed_labels"], categories=PROCESSES).codes.astype(np.int8)
    np.save(input_dir / "train" / "detailed_labels.npy", codes)

    sampler = PseudoExperimentSampler(dataset.test)
    entries, n_events = [], 0
    for row in plan.table.itertuples(index=False):
        s, p = int(row.set_index), int(row.pe_index)
        events = plan.draw(sampler, s, p)
        name = f"pseudo_experiments/set{s}_pe{p}.npy"
        np.save(input_dir / name, events[list(FEATURES)].to_numpy(np.float32))
        entries.append({"set_index": s, "pe_index": p, "file": name})
        n_events += len(events)
    metadata = {
        "challenge": CHALLENGE,
        "features": list(FEATURES),
        "processes": list(PROCESSES),
        "luminosity_fb": spec.luminosity_fb,
        "train": {
            "features": "train/features.npy",
            "weights": "train/weights.npy",
            "labels": "train/labels.npy",
            "detailed_labels": "train/detailed_labels.npy",
            "n_events": len(train),
        },
        "pseudo_experiments": entries,
        "answers_file": ANSWERS_FILE,
        "answer_keys": list(ANSWER_KEYS),
    }
    (input_dir / "metadata.json").write_text(json.dumps(metadata, indent=1))
    return {
        "preset": dataset.preset,
        "n_sets": plan.n_sets,
        "n_pseudo_experiments": plan.n_pseudo_experiments,
        "train_events": len(train),
        "pseudo_experiment_events": n_events,
    }


def read_and_validate_outputs(output_dir: str | Path, organiser_dir: str | Path) -> pd.DataFrame:
    """The answers as a frame (one row per pseudo-experiment of the plan), or ``OutputError``."""
    payload = read_json_output(output_dir, ANSWERS_FILE)
    rows = require_list(require_mapping(payload, ANSWERS_FILE).get("answers"), f"{ANSWERS_FILE}: 'answers'")
    plan = TestPlan.from_json(Path(organiser_dir) / PLAN_FILE)
    expected = {(int(s), int(p)) for s, p in zip(plan.table["set_index"], plan.table["pe_index"])}
    seen: set[tuple[int, int]] = set()
    clean = []
    for i, row in enumerate(rows):
        where = f"{ANSWERS_FILE}: answers[{i}]"
        require_mapping(row, where)
        key = (
            require_int(row.get("set_index"), f"{where}.set_index"),
            require_int(row.get("pe_index"), f"{where}.pe_index"),
        )
        if key not in expected:
            raise OutputError(f"{where}: (set_index, pe_index) = {key} is not a pseudo-experiment of the input")
        if key in seen:
            raise OutputError(f"{where}: (set_index, pe_index) = {key} answered twice")
        seen.add(key)
        missing = [k for k in ANSWER_KEYS if k not in row]
        if missing:
            raise OutputError(f"{where}: missing field(s) {missing}; expected {list(ANSWER_KEYS)}")
        values = {k: require_finite(row[k], f"{where}.{k}") for k in ANSWER_KEYS}
        try:
            values = validate_answer(values)
        except AnswerError as err:
            raise OutputError(f"{where}: {err}") from None
        clean.append({"set_index": key[0], "pe_index": key[1], **values})
    absent = sorted(expected - seen)
    if absent:
        raise OutputError(
            f"{ANSWERS_FILE}: no answer for {len(absent)} of {len(expected)} pseudo-experiments, first {absent[:3]}"
        )
    return pd.DataFrame(clean)
