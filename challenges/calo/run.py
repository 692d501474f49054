"""One calorimeter generator, end to end: train on the reference simulation's train split,
generate showers for the test split's incident energies, evaluate them against the test split,
and time the generation. ``multiclass_table`` adds the score of several generators at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...checkpoints import training_clock
from ...records import RECORD_VERSION
from ...scoring.calo import (
    Multiclass,
    apply_threshold,
    evaluate,
    evaluation_threshold,
    generation_timing,
    low_level_inputs,
    multiclass_scores,
)
from ..sections import section_markers
from .dataset import load_split
from .showers_io import write_showers
from .simulator import detector_model

TIMING_BATCHES: tuple[int, ...] = (1, 100, 10_000)


def run_generator(
    name: str,
    generator: Any,
    data_dir: str | Path,
    geometry: str,
    *,
    classifier: str = "small",
    n_runs: int = 1,
    device: str = "cpu",
    seed: int = 0,
    timing_batches: tuple[int, ...] = TIMING_BATCHES,
    timing_repeats: int = 3,
    out: str | Path | None = None,
    showers: int | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Train ``generator`` on ``GEOMETRY_train.hdf5`` and evaluate it on ``GEOMETRY_test.hdf5``
    (with ``showers``: the first that many of each split).

    Returns the JSON-ready record and the generated showers (n_test, n_voxels) in MeV; with
    ``out`` the showers are also written in the official format as ``out/NAME_GEOMETRY.hdf5``,
    and the trained generator as ``out/NAME_GEOMETRY.pt`` (read it with ``CaloGenerator.load``).
    """
    model = detector_model(geometry)
    train = load_split(data_dir, geometry, "train", showers).head(showers)
    test = load_split(data_dir, geometry, "test", showers).head(showers)
    clock = training_clock()
    generator.fit(train.incident_energy, train.showers, model.geometry)
    train_seconds = clock()
    n_train, train_metadata = len(train), train.metadata
    del train  # 2.6 GB for 50,000 DS2 showers, and the evaluation needs the room
    generated = generator.sample(test.incident_energy, seed=seed)
    if out is not None:  # before the evaluation, so that a failure there loses no showers
        write_showers(
            Path(out) / f"{name}_{geometry}.hdf5",
            test.incident_energy,
            generated,
            {"generator": name, "geometry": geometry, "seed": seed, "units": "MeV"},
        )
        # The trained generator too: sampling it again (more showers, a finer ODE solver) or
        # scoring its showers with another classifier needs no new training.
        generator.save(Path(out) / f"{name}_{geometry}.pt")
    scores = evaluate(
        model.geometry,
        (test.incident_energy, test.showers),
        (test.incident_energy, generated),
        classifier=classifier,
        n_runs=n_runs,
        seed=seed,
        device=device,
    )
    timing = generation_timing(
        lambda e: generator.sample(e, seed=seed),
        test.incident_energy,
        batch_sizes=timing_batches,
        repeats=timing_repeats,
    )
    metrics = scores.to_dict()
    metrics["ms_per_shower"] = timing[max(timing_batches)]["ms_per_shower"]
    record = {
        "record_version": RECORD_VERSION,
        "challenge": "calo",
        "method": name,
        "geometry": geometry,
        "preset": train_metadata.get("preset"),
        "data_seed": train_metadata.get("seed"),
        "model_seed": seed,
        "device": device,
        "classifier": classifier,
        "n_train": n_train,
        "n_test": len(test),
        "n_parameters": int(generator.n_parameters),
        "max_epochs": getattr(generator, "epochs", None),
        "train_seconds": train_seconds,
        # Per-epoch losses (with the held-out ones where the generator keeps some): the
        # evidence that training stopped where the validation loss stopped improving.
        "history": list(getattr(generator, "history_", [])),
        "timing": {str(k): v for k, v in timing.items()},
        "metrics": metrics,
    }
    return record, generated


def multiclass_table(
    data_dir: str | Path,
    geometry: str,
    generated: dict[str, np.ndarray],
    *,
    classifier: str = "small",
    seed: int = 0,
    device: str = "cpu",
) -> Multiclass:
    """The multiclass score of several generators: one classifier trained on their showers only
    (one class per generator, no reference class), evaluated on the test split's reference
    showers, which none of the generators saw. ``generated``: name -> (n_test, n_voxels) showers
    made for the test split's incident energies (MeV).

    Higher is better; ln(1 / n_generators) when nothing tells the generators apart.
    """
    model = detector_model(geometry)
    threshold = evaluation_threshold(model.geometry)
    test = load_split(data_dir, geometry, "test")
    inputs = {
        name: low_level_inputs(test.incident_energy, apply_threshold(showers, threshold))
        for name, showers in generated.items()
    }
    held_out = low_level_inputs(test.incident_energy, apply_threshold(test.showers, threshold))
    return multiclass_scores(held_out, inputs, config=classifier, seed=seed, device=device)


def multiclass_cell(metrics: dict[str, Any]) -> str:
    """A table cell of the multiclass score: the value, or why there is none."""
    value = metrics.get("multiclass_log_posterior")
    return "n/a (one model)" if value is None or not np.isfinite(value) else f"{value:.2f}"


def calo_metrics_table(title: str, records: list[dict[str, Any]]):
    from rich.table import Table

    table = Table(title=title)
    for column in (
        "method",
        "geometry",
        "AUC low",
        "AUC high",
        "JSD low",
        "FPD",
        "KPD",
        "sep. power",
        "ms/shower",
        "multiclass",
        "params",
        "train s",
    ):
        table.add_column(column, justify="right", no_wrap=(column == "method"))
    for r in records:
        m = r["metrics"]
        table.add_row(
            r["method"],
            r["geometry"],
            f"{m['auc_low']:.3f}",
            f"{m['auc_high']:.3f}",
            f"{m['jsd_low']:.3f}",
            f"{m['fpd']:.4f}",
            f"{m['kpd']:.2e}",
            f"{m['separation_power_mean']:.3f}",
            f"{m['ms_per_shower']:.3g}",
            multiclass_cell(m),
            f"{r['n_parameters']:,}",
            f"{r['train_seconds']:.0f}",
        )
    return table


def calo_markdown(
    records: list[dict[str, Any]],
    multiclass: Multiclass | None,
    *,
    geometry: str,
    command: str,
    machine: str,
    date: str,
    heatmap: str | None = None,
) -> str:
    """The marked section ``comparison:calo:PRESET:GEOMETRY`` of docs/results.md (one per preset,
    so that a `full` run does not replace the `small` table)."""
    first = records[0]
    begin, end = section_markers(f"comparison:calo:{first['preset']}:{geometry}")
    lines = [
        begin,
        f"### {geometry}",
        "",
        f"Reference: GFlash showers of preset `{first['preset']}` (seed {first['data_seed']}), {first['n_train']:,} "
        f"training and {first['n_test']:,} test showers; classifier `{first['classifier']}`; timing on "
        f"{first['device']} at batch {max(int(k) for k in first['timing'])}. Multiclass: a classifier trained on "
        "the generators' showers only (one class each, no reference class); mean log posterior of each generator "
        "on the held-out reference showers (higher is better; "
        + (
            f"ln(1/{len(multiclass.names)}) = {np.log(1 / len(multiclass.names)):.2f} when indistinguishable)."
            if multiclass is not None
            else "needs at least two generators)."
        )
        + (f" Matrix of log p(row | showers of column): ![multiclass]({heatmap})" if heatmap else ""),
        f"Machine: {machine}; {date}. Command: `{command}`",
        "",
        "| method | AUC low | AUC high | JSD low | FPD | KPD | mean sep. power | multiclass | ms / shower | parameters | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        m = r["metrics"]
        lines.append(
            f"| {r['method']} | {m['auc_low']:.3f} | {m['auc_high']:.3f} | {m['jsd_low']:.3f} | {m['fpd']:.4f} | "
            f"{m['kpd']:.2e} | {m['separation_power_mean']:.3f} | {multiclass_cell(m)} | "
            f"{m['ms_per_shower']:.3g} | {r['n_parameters']:,} | {r['train_seconds']:.0f} |"
        )
    lines.append(end)
    return "\n".join(lines) + "\n"
