"""Calorimeter fast simulation through the sandbox: training showers in, generated showers out.

``/input`` holds numpy files only (any python3 with numpy reads them); energies are in MeV and
voxels in the official order layer -> alpha -> r:

- ``metadata.json``: the geometry's name, particle and voxel count, the files below and the
  output file to write;
- ``geometry.json``: the voxel geometry (layers with radial edges in mm and angular bins);
- ``train/incident_energies.npy`` (float64, N) and ``train/showers.npy`` (float32, N x voxels);
- ``generate/incident_energies.npy`` (float64, M): one shower to generate per entry.

``/output/showers.npy`` (M x voxels, MeV, every value finite and >= 0) is compared with the
organiser's held-out showers at the same incident energies: classifier AUC and JSD on low- and
high-level inputs, FPD, KPD and separation powers, as for the baselines. The host's wall time
covers training and generation together.

``/output/timing.json`` is the generation time measured inside the sandbox by the kit's
entrypoint (:data:`TIMING_FILE`, written as that entrypoint writes it): the ``sample`` calls in
batches of ``metadata.json``'s ``timing.batch_size`` on a monotonic clock, after one untimed
warm-up call. The host checks it against the showers written and the sandbox's wall time
(:func:`read_generation_timing`) and reports ``ms_per_shower`` as the baselines do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...output import read_json
from ...scoring.calo import (
    CLASSIFIER_SIZES,
    apply_threshold,
    evaluate,
    evaluation_threshold,
    feature_histograms,
    high_level_features,
)
from ..base import PhaseMetrics
from ..outputs import (
    OutputError,
    read_json_output,
    read_npy_output,
    require_finite,
    require_int,
    require_list,
    require_mapping,
)
from ..secrets import record_secrets, seed_or_secret
from .dataset import generate_dataset, get_calo_preset, load_split, split_files
from .geometry import builtin_geometry, geometry_to_dict
from .run import TIMING_BATCHES
from .showers_io import inspect_showers
from .simulator import detector_model

CHALLENGE = "calo"
OUTPUT_FILE = "showers.npy"
VALIDATE_OPTIONS: dict[str, Any] = {"preset": "tiny"}
"""The inputs of ``hepbench submission validate``: the tiny preset (300 DS1-photon showers per split)."""
MAX_VOXEL_RATIO = 10.0
"""Largest energy of one voxel of a generated shower, in units of its incident energy (the
reference's largest voxels hold 0.6 of it; a crude generator's tails may overshoot, a
1e38 MeV voxel is not a shower)."""
TIMING_FILE = "timing.json"
"""The in-sandbox generation timing a run writes beside the showers (:func:`read_generation_timing`)."""
TIMING_BATCH = max(TIMING_BATCHES)
"""Showers per timed ``sample`` call: the batch at which the baselines report ``ms_per_shower``
(a phase with fewer showers is one batch of all of them)."""
MAX_TIMING_BYTES = 1 << 20
CLASSIFIER_BY_PRESET = {"tiny": "tiny", "small": "small", "full": "full"}
"""Evaluation classifier per data size: the anchor's recipe only on the full data."""


def write_inputs(
    input_dir: str | Path,
    organiser_dir: str | Path,
    *,
    preset: str = "tiny",
    seed: int | None = None,
    geometry: str | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write the training showers and the energies to generate to ``input_dir``; the held-out
    showers stay in ``organiser_dir``.

    The showers come from ``data_dir`` (``hepbench data generate calo``) or are simulated from
    ``preset`` and ``seed`` (default: a secret one, kept in ``organiser_dir/secrets.json``) into
    ``organiser_dir/data``. ``geometry`` defaults to the preset's first one. Returns a summary of
    what was written.
    """
    input_dir, organiser_dir = Path(input_dir), Path(organiser_dir)
    organiser_dir.mkdir(parents=True, exist_ok=True)
    organiser_dir.chmod(0o700)
    seed = seed_or_secret(seed)
    geometry = geometry or next(iter(get_calo_preset(preset).showers))
    if data_dir is None:
        record_secrets(organiser_dir, data_seed=seed)
        data_dir = organiser_dir / "data"
        generate_dataset(preset, seed, data_dir, [geometry])
    model = detector_model(geometry)
    train, test = load_split(data_dir, geometry, "train"), load_split(data_dir, geometry, "test")
    (input_dir / "train").mkdir(parents=True, exist_ok=True)
    (input_dir / "generate").mkdir(exist_ok=True)
    np.save(input_dir / "train" / "incident_energies.npy", train.incident_energy.astype(np.float64))
    np.save(input_dir / "train" / "showers.npy", train.showers.astype(np.float32))
    np.save(input_dir / "generate" / "incident_energies.npy", test.incident_energy.astype(np.float64))
    (input_dir / "geometry.json").write_text(json.dumps(geometry_to_dict(model.geometry), indent=1))
    data_preset = train.metadata.get("preset", preset)
    reference = {
        "data_dir": str(Path(data_dir).resolve()),
        "geometry": geometry,
        "preset": data_preset,
        "classifier": CLASSIFIER_BY_PRESET.get(data_preset, "small"),
    }
    (organiser_dir / "reference.json").write_text(json.dumps(reference, indent=1))
    metadata = {
        "challenge": CHALLENGE,
        "geometry": geometry,
        "particle": model.geometry.particle,
        "n_voxels": model.geometry.n_voxels,
        "units": "MeV",
        "voxel_order": "layer -> alpha -> r",
        "files": {
            "geometry": "geometry.json",
            "train_incident_energies": "train/incident_energies.npy",
            "train_showers": "train/showers.npy",
            "generate_incident_energies": "generate/incident_energies.npy",
        },
        "n_train": len(train),
        "n_generate": len(test),
        "output": OUTPUT_FILE,
        "timing": {"file": TIMING_FILE, "batch_size": TIMING_BATCH, "clock": "monotonic"},
    }
    (input_dir / "metadata.json").write_text(json.dumps(metadata, indent=1))
    return {"preset": data_preset, "geometry": geometry, "n_train": len(train), "n_generate": len(test)}


def _reference_info(organiser_dir: str | Path) -> dict[str, Any]:
    """``reference.json`` of an organiser folder, its fields checked (errors name file and field)."""
    path = Path(organiser_dir) / "reference.json"
    info = read_json(path)
    if not isinstance(info, dict):
        raise ValueError(f"{path}: must be a JSON object")
    for key in ("data_dir", "geometry", "preset", "classifier"):
        if not isinstance(info.get(key), str):
            raise ValueError(f"{path}: field {key!r} must be a string")
    try:
        builtin_geometry(info["geometry"])
    except ValueError as err:
        raise ValueError(f"{path}: field 'geometry': {err}") from None
    if info["classifier"] not in CLASSIFIER_SIZES:
        raise ValueError(
            f"{path}: field 'classifier' must be one of {sorted(CLASSIFIER_SIZES)}, got {info['classifier']!r}"
        )
    return info


def _reference(organiser_dir: str | Path) -> tuple[dict[str, Any], Any]:
    info = _reference_info(organiser_dir)
    return info, load_split(info["data_dir"], info["geometry"], "test")


def check_reference(organiser_dir: str | Path) -> None:
    """The organiser folder of :func:`write_inputs` can score: its reference.json and the headers
    of the held-out showers it names (nothing large is read)."""
    info = _reference_info(organiser_dir)
    n_voxels = builtin_geometry(info["geometry"]).n_voxels
    for path in split_files(info["data_dir"], info["geometry"], "test"):
        inspect_showers(path, n_voxels=n_voxels)


def read_and_validate_outputs(output_dir: str | Path, organiser_dir: str | Path) -> np.ndarray:
    """The generated showers (M, n_voxels) in MeV, or ``OutputError`` naming the file and the row."""
    _, test = _reference(organiser_dir)
    showers = read_npy_output(
        output_dir,
        OUTPUT_FILE,
        test.showers.shape,
        "one shower per generate/incident_energies.npy entry, voxels in MeV",
    )
    negative = np.flatnonzero((showers < 0).any(axis=1))
    if len(negative):
        row = int(negative[0])
        raise OutputError(
            f"{OUTPUT_FILE}: {len(negative)} shower(s) with negative voxel energies, first row {row} "
            f"(voxel {int(np.argmax(showers[row] < 0))}: {showers[row].min():g} MeV); energies must be >= 0"
        )
    # 1e38 MeV voxels would overflow the high-level features and their distances.
    ratio = showers.max(axis=1).astype(np.float64) / test.incident_energy
    excessive = np.flatnonzero(~(ratio <= MAX_VOXEL_RATIO))
    if len(excessive):
        row = int(excessive[0])
        raise OutputError(
            f"{OUTPUT_FILE}: {len(excessive)} shower(s) with a voxel above {MAX_VOXEL_RATIO:g} times the incident "
            f"energy, first row {row} (voxel {int(np.argmax(showers[row]))}: {showers[row].max():.4g} MeV for "
            f"{test.incident_energy[row]:.6g} MeV)"
        )
    return showers


def _timing_field(timing: dict[str, Any], name: str) -> Any:
    if name not in timing:
        raise OutputError(f"{TIMING_FILE}: field {name} is missing (the kit's entrypoint writes it)")
    return timing[name]


def read_generation_timing(output_dir: str | Path, n_showers: int, wall_seconds: float) -> dict[str, Any]:
    """The generation time a sandboxed run measured (``timing.json``), checked by the host.

    ``n_showers``: the showers in ``showers.npy``; ``wall_seconds``: the sandbox's wall time as
    the host measured it. The file must hold ``seconds`` (finite, > 0: the timed ``sample``
    calls), ``batch_seconds`` (one positive time per batch, summing to ``seconds``),
    ``warmup_seconds`` (>= 0), ``n_showers`` (equal to the showers written), ``batch_size``
    (``min(TIMING_BATCH, n_showers)``) and ``device``; ``seconds + warmup_seconds`` may not exceed
    the wall time. Returns those fields with ``wall_seconds`` and ``ms_per_shower`` (ms), or
    raises ``OutputError`` naming the file and the field.
    """
    timing = require_mapping(read_json_output(output_dir, TIMING_FILE, max_bytes=MAX_TIMING_BYTES), TIMING_FILE)

    def where(name: str) -> str:
        return f"{TIMING_FILE}: {name}"

    seconds = require_finite(_timing_field(timing, "seconds"), where("seconds"))
    if seconds <= 0:
        raise OutputError(f"{where('seconds')} is {seconds:g}; a positive time in seconds is required")
    counted = require_int(_timing_field(timing, "n_showers"), where("n_showers"))
    if counted != n_showers:
        raise OutputError(f"{where('n_showers')} is {counted}, but {OUTPUT_FILE} holds {n_showers} showers")
    batch = require_int(_timing_field(timing, "batch_size"), where("batch_size"))
    expected_batch = min(TIMING_BATCH, n_showers)
    if batch != expected_batch:
        raise OutputError(
            f"{where('batch_size')} is {batch}; the protocol times batches of {expected_batch} showers "
            f"(metadata.json timing.batch_size = {TIMING_BATCH}, at most the showers asked for)"
        )
    batches = require_list(_timing_field(timing, "batch_seconds"), where("batch_seconds"))
    n_batches = -(-n_showers // batch)
    if len(batches) != n_batches:
        raise OutputError(f"{where('batch_seconds')} has {len(batches)} entries; {n_batches} batches were timed")
    for i, value in enumerate(batches):
        if require_finite(value, where(f"batch_seconds[{i}]")) <= 0:
            raise OutputError(f"{where(f'batch_seconds[{i}]')} is {value:g}; a positive time in seconds is required")
    total = float(np.sum(batches))
    if abs(total - seconds) > 1e-6 * seconds + 1e-6:
        raise OutputError(f"{where('seconds')} is {seconds:.9g}, but batch_seconds sum to {total:.9g}")
    warmup = require_finite(_timing_field(timing, "warmup_seconds"), where("warmup_seconds"))
    if warmup < 0:
        raise OutputError(f"{where('warmup_seconds')} is {warmup:g}; a time >= 0 is required")
    device = _timing_field(timing, "device")
    if not isinstance(device, str) or not 0 < len(device) <= 64 or not device.isprintable():
        raise OutputError(f"{where('device')} must be a short printable name (cpu, cuda:0), got {device!r:.40}")
    if seconds + warmup > wall_seconds:
        raise OutputError(
            f"{where('seconds')} + warmup_seconds = {seconds + warmup:.3f} s, more than the "
            f"{wall_seconds:.3f} s the host measured for the whole sandboxed run"
        )
    return {
        "seconds": seconds,
        "warmup_seconds": warmup,
        "n_showers": n_showers,
        "batch_size": batch,
        "n_batches": n_batches,
        "device": device,
        "clock": str(timing.get("clock", ""))[:32],
        "wall_seconds": float(wall_seconds),
        "ms_per_shower": 1e3 * seconds / n_showers,
    }


def describe(showers: np.ndarray) -> str:
    return f"{len(showers)} showers of {showers.shape[1]} voxels, schema valid"


def score_outputs(showers: np.ndarray, organiser_dir: str | Path) -> dict[str, Any]:
    """Classifier AUC / JSD (low and high level), FPD, KPD and separation powers against the held-out showers."""
    info, test = _reference(organiser_dir)
    model = detector_model(info["geometry"])
    scores = evaluate(
        model.geometry,
        (test.incident_energy, test.showers),
        (test.incident_energy, showers),
        classifier=info["classifier"],
        seed=0,
        device="auto",
    )
    return {
        "metrics": scores.to_dict(),
        "feature_histograms": shower_feature_histograms(model.geometry, test.incident_energy, test.showers, showers),
        **{k: info[k] for k in ("geometry", "preset", "classifier")},
    }


def phase_multiclass(outputs: Mapping[str, Path], organiser_dir: str | Path) -> PhaseMetrics:
    """The multiclass score over the submissions of a phase: a classifier trained on their
    generated showers only (``outputs``: label -> folder with ``showers.npy``), evaluated on the
    phase's held-out reference showers (organiser folder). With fewer than two submissions the
    score is undefined (None) and no matrix is written."""
    from ...output import dumps
    from ...torch_common import resolve_device
    from .evaluation import multiclass_heatmap
    from .run import multiclass_table

    if len(outputs) < 2:
        return PhaseMetrics({label: {"multiclass_log_posterior": None} for label in outputs})
    info = _reference_info(organiser_dir)
    showers = {label: np.load(Path(folder) / OUTPUT_FILE) for label, folder in outputs.items()}
    result = multiclass_table(
        info["data_dir"],
        info["geometry"],
        showers,
        classifier=info["classifier"],
        seed=0,
        device=resolve_device("auto"),
    )
    title = f"Multiclass over the phase's {len(outputs)} scored submissions ({info['geometry']})"
    return PhaseMetrics(
        {label: {"multiclass_log_posterior": value} for label, value in result.log_posterior.items()},
        {
            "multiclass.json": (title, (dumps(result.to_dict(), indent=1) + "\n").encode()),
            "multiclass.png": (title, multiclass_heatmap(result, title)),
        },
    )


SHOWN_LAYERS = 5
"""Layers whose features a submission's page plots (evenly spread over the geometry's layers)."""


def shower_feature_histograms(
    geometry: Any, incident_energy: np.ndarray, reference: np.ndarray, generated: np.ndarray
) -> dict[str, dict[str, list[float]]]:
    """Energy per layer (MeV), radial centre of energy and radial width (mm) of up to
    :data:`SHOWN_LAYERS` layers, reference against generated showers (evaluation threshold
    applied to both), as :func:`hepbench.scoring.calo.feature_histograms`."""
    threshold = evaluation_threshold(geometry)
    f_ref = high_level_features(geometry, incident_energy, apply_threshold(reference, threshold))
    f_gen = high_level_features(geometry, incident_energy, apply_threshold(generated, threshold))
    layers = list(geometry.layer_slices())
    picked = [layers[i] for i in sorted(set(np.linspace(0, len(layers) - 1, SHOWN_LAYERS).round().astype(int)))]
    names = [f"{kind}_{layer}" for kind in ("e", "ec_r", "width_r") for layer in picked]
    return feature_histograms(f_ref, f_gen, names)
