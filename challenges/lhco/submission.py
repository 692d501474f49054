"""LHC Olympics anomaly detection through the sandbox: unlabelled data in, anomaly scores out.

``/input`` holds numpy files only (any python3 with numpy reads them); every mass is in TeV:

- ``metadata.json``: the column names, the signal region (mjj window, TeV), the files below and
  the output files to write (no signal amount, no labels);
- ``data.npy`` (float32, events x 5): the unlabelled data over the full mjj range, on which the
  detector is trained (columns ``mjj, mj1, delta_m, tau21_j1, tau21_j2``);
- ``test.npy`` (float32, events x 5): signal-region events whose labels the organiser holds,
  shuffled; scored by AUC, SIC and background rejection;
- ``bump_hunt.npy`` (float32, events x 5): an independent data sample over the full mjj range;
  the organiser cuts on its scores and runs the bump hunt on its mjj.

``/output/test_scores.npy`` and ``/output/bump_hunt_scores.npy`` hold one anomaly score per row
(higher = more signal-like). The metrics are those of ``hepbench baseline run lhco``, so a
submission and the baselines are ranked on the same numbers.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ...output import read_json
from ...scoring.anomaly import MIN_BACKGROUND, anomaly_metrics, roc_curve, sic_points
from ..outputs import read_npy_output
from ..secrets import record_secrets, secret_seed, seed_or_secret
from .dataset import generate_dataset, load_dataset
from .run import bump_hunts
from .schema import COLUMNS, LABEL, MJJ

CHALLENGE = "lhco"
OUTPUTS: dict[str, str] = {"test": "test_scores.npy", "bump_hunt": "bump_hunt_scores.npy"}
"""Output file per scored input file."""
TRUTH_FILE = "truth.npz"
VALIDATE_OPTIONS: dict[str, Any] = {"preset": "tiny"}
"""The inputs of ``hepbench submission validate``: the tiny preset (30k data events)."""


def write_inputs(
    input_dir: str | Path,
    organiser_dir: str | Path,
    *,
    preset: str = "tiny",
    seed: int | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write the public inputs to ``input_dir`` and the test labels and bump-hunt masses to ``organiser_dir``.

    The data set comes from ``data_dir`` (``hepbench data generate lhco``, its truth files in
    the same folder) or is generated from ``preset`` and ``seed``; without a seed, from a secret
    one (see :mod:`hepbench.challenges.secrets`). The bump-hunt sample is generated independently
    from a secret seed, and the test rows are shuffled by a secret permutation, so neither the
    row order nor a regenerated sample gives the labels away. Returns a summary of what was
    written (no seed: they stay in ``organiser_dir/secrets.json``).
    """
    input_dir, organiser_dir = Path(input_dir), Path(organiser_dir)
    organiser_dir.mkdir(parents=True, exist_ok=True)
    organiser_dir.chmod(0o700)
    seed = seed_or_secret(seed)
    bump_seed, shuffle_seed = secret_seed(), secret_seed()
    dataset = load_dataset(data_dir) if data_dir is not None else generate_dataset(preset, seed)
    record_secrets(organiser_dir, data_seed=dataset.seed, bump_hunt_seed=bump_seed, test_shuffle_seed=shuffle_seed)
    bump = generate_dataset(dataset.preset, bump_seed).inputs.data
    # The test set is stored by class: a secret permutation hides the labels in the row order.
    order = np.random.default_rng(shuffle_seed).permutation(len(dataset.test))
    test = dataset.test.iloc[order]
    columns = list(COLUMNS)
    input_dir.mkdir(parents=True, exist_ok=True)
    frames = {"data": dataset.inputs.data, "test": test, "bump_hunt": bump}
    for name, frame in frames.items():
        np.save(input_dir / f"{name}.npy", frame[columns].to_numpy(np.float32))
    np.savez(
        organiser_dir / TRUTH_FILE,
        test_labels=test[LABEL].to_numpy(np.int8),
        bump_hunt_mjj=bump[MJJ].to_numpy(np.float64),
    )
    signal_region = [float(x) for x in dataset.inputs.signal_region]
    (organiser_dir / "inputs.json").write_text(
        json.dumps(
            {
                "preset": dataset.preset,
                "n_signal_injected": dataset.n_signal,
                "signal_region": signal_region,
            },
            indent=1,
        )
    )
    metadata = {
        "challenge": CHALLENGE,
        "columns": columns,
        "units": "TeV",
        "signal_region": signal_region,
        "files": {name: {"file": f"{name}.npy", "n_events": len(frame)} for name, frame in frames.items()},
        "outputs": OUTPUTS,
    }
    (input_dir / "metadata.json").write_text(json.dumps(metadata, indent=1))
    return {
        "preset": dataset.preset,
        "n_data": len(dataset.inputs.data),
        "n_test": len(test),
        "n_bump_hunt": len(bump),
    }


def read_truth(organiser_dir: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The organiser folder of :func:`write_inputs`: test labels (0 / 1, both present), the
    bump-hunt sample's m_jj (TeV, finite) and inputs.json; errors name the file and the field."""
    organiser_dir = Path(organiser_dir)
    path = organiser_dir / TRUTH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the phase's truth not found")
    try:
        with np.load(path, allow_pickle=False) as truth:
            labels, mjj = truth["test_labels"], truth["bump_hunt_mjj"]
    except KeyError as err:
        raise ValueError(f"{path}: array {err} missing") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    if labels.ndim != 1 or not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) != 2:
        raise ValueError(f"{path}: field 'test_labels' must hold 0 and 1, one per test row")
    if mjj.ndim != 1 or mjj.dtype.kind != "f" or not np.isfinite(mjj).all() or not len(mjj):
        raise ValueError(f"{path}: field 'bump_hunt_mjj' must be finite masses, one per bump-hunt row")
    inputs_path = organiser_dir / "inputs.json"
    inputs = read_json(inputs_path)
    region = inputs.get("signal_region") if isinstance(inputs, dict) else None
    if not (
        isinstance(region, list)
        and len(region) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in region)
        and 0 < region[0] < region[1]
    ):
        raise ValueError(f"{inputs_path}: field 'signal_region' must be [low, high] in TeV, 0 < low < high")
    return labels, mjj, inputs


def read_and_validate_outputs(output_dir: str | Path, organiser_dir: str | Path) -> dict[str, np.ndarray]:
    """The scores per scored file (float64, one per row), or ``OutputError`` naming the file."""
    labels, mjj, _ = read_truth(organiser_dir)
    rows = {"test": len(labels), "bump_hunt": len(mjj)}
    return {
        name: read_npy_output(output_dir, OUTPUTS[name], (rows[name],), f"one score per row of {name}.npy")
        for name in OUTPUTS
    }


def describe(scores: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{len(v)} {name} scores" for name, v in scores.items()) + ", schema valid"


def score_outputs(
    scores: dict[str, np.ndarray], organiser_dir: str | Path, *, min_background: float = MIN_BACKGROUND
) -> dict[str, Any]:
    """AUC, max SIC (over cuts keeping at least ``min_background`` test background events),
    rejections (labelled test set) and the bump-hunt Z per cut (independent sample)."""
    labels, mjj, inputs = read_truth(organiser_dir)
    metrics = anomaly_metrics(labels, scores["test"], min_background=min_background)
    hunts = bump_hunts(mjj, scores["bump_hunt"], tuple(inputs["signal_region"]))
    metrics["bump_hunt_z_max"] = max(h["z"] for h in hunts)
    return {
        "metrics": metrics,
        "sic_curve": sic_points(roc_curve(labels, scores["test"]), min_background),
        "bump_hunt": hunts,
        **inputs,
        "n_test": {"signal": int(labels.sum()), "background": int((labels == 0).sum())},
    }
