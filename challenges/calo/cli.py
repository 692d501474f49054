"""The calo parts of ``hepbench data generate|validate`` and ``hepbench score``."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from ...cli.output import console, write_json
from .dataset import generate_dataset
from .evaluation import score_files
from .physics import physics_report


def generate_calo(preset: str, seed: int, out: Path, json_path: Path | None) -> None:
    start = time.perf_counter()
    with console.status(f"simulating calo preset {preset!r} (seed {seed}) into {out}", spinner="dots"):
        written = generate_dataset(preset, seed, out)
    seconds = time.perf_counter() - start
    table = Table(title=f"calo / {preset} / seed {seed} -> {out}")
    for column in ("file", "geometry", "showers", "voxels"):
        table.add_column(column, justify="right")
    for name, meta in written.items():
        table.add_row(name, meta["geometry"], f"{meta['n_showers']:,}", f"{meta['n_voxels']:,}")
    console.print(table)
    n = sum(meta["n_showers"] for meta in written.values())
    console.print(f"{n:,} showers in {seconds:.1f} s ({n / seconds:,.0f} showers/s, writing included)")
    write_json(json_path, {"challenge": "calo", "preset": preset, "seed": seed, "out": out, "files": written,
                           "seconds": seconds})


def validate_calo(out: Path, seed: int, json_path: Path | None) -> None:
    """Physics checks of the simulator for data sets 1 (photons) and 2, with plots under ``out``."""
    results = {}
    for geometry in ("ds1-photons", "ds2"):
        with console.status(f"physics checks for {geometry}", spinner="dots"):
            results[geometry] = report = physics_report(geometry, out, seed=seed)
        m, c, r = report["shower_maximum"], report["containment"], report["resolution"]
        console.print(f"[bold]{report['geometry']}[/bold] ({report['material']}): "
                      f"t_max slope {m['slope_x0_per_ln_y']:.2f} X0 per ln(E/Ec); "
                      f"energy within 1 Rm {min(c['within_1_rm']):.3f}..{max(c['within_1_rm']):.3f}; "
                      f"sigma/E = {r['a_sqrt_gev']:.3f}/sqrt(E) (+) {r['b_constant']:.3f} (input a = {r['a_input_sqrt_gev']})")
    console.print(f"plots written under {out}")
    write_json(json_path, results)


def score_calo(generated: Path | None, reference: Path | None, *, classifier: str, n_runs: int, plots: Path | None,
               json_path: Path | None) -> None:
    if generated is None or reference is None:
        raise ValueError("calo scoring needs --generated and --reference (official HDF5 shower files)")
    with console.status(f"scoring {generated} against {reference}", spinner="dots"):
        result = score_files(generated, reference, classifier=classifier, n_runs=n_runs, plots=plots)
    table = Table(title=f"calo: {generated.name} vs {reference.name} ({result['geometry']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, err in (("auc_low", "auc_low_std"), ("auc_high", "auc_high_std"), ("fpd", "fpd_err"), ("kpd", "kpd_err")):
        table.add_row(key, f"{result[key]:.4g} +- {result[err]:.2g}")
    for key in ("jsd_low", "jsd_high", "separation_power_mean", "seconds"):
        table.add_row(key, f"{result[key]:.4g}")
    console.print(table)
    write_json(json_path, {"challenge": "calo", **result})
