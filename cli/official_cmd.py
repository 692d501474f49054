"""``hepbench data fetch|import``: the official data sets, downloaded and turned into data folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import challenges
from .apps import ChallengeArg, JsonOption, SchedulerOption, WorkersOption, data_app, handles_errors
from .output import console, err_console, write_json


def _size(value: int | None) -> str:
    if value is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value = value / 1000  # type: ignore[assignment]
    return "?"


def registry_table() -> Any:
    """The official files, one table per data set (record, DOI; per file its size and every known
    digest), fitting 100 columns."""
    from rich.console import Group
    from rich.table import Table

    from ..official_data import DATASETS

    tables = []
    for ds in DATASETS.values():
        title = f"{ds.name} ({ds.challenge}): {ds.record_url} (doi:{ds.doi})"
        table = Table(title=title, title_justify="left", width=100)
        # One cell per file, its digests on the lines below the name: a sha256 never folds.
        table.add_column("file and its checksums (pooch ALG:HEX)", overflow="fold", ratio=9)
        table.add_column("size", justify="right", ratio=1, min_width=9)
        for f in ds.files:
            digests = f.digests or ("none published (unverified)",)
            table.add_row("\n".join([f.name, *(f"  {d}" for d in digests)]), _size(f.size))
        tables.append(table)
    return Group(*tables)


@data_app.command("fetch")
@handles_errors
def fetch(
    dataset: Annotated[
        str | None, typer.Argument(help="Official data set (see --list), e.g. lhco-rnd, calo-ds2.")
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder for the files (default hepbench-data/official/DATASET).")
    ] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="Take the files already downloaded to this folder (no network): check, link."),
    ] = None,
    files: Annotated[
        list[str] | None, typer.Option("--file", help="Only this file of the data set (repeatable).")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the registry of official files and exit.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show download progress.")] = True,
    json_path: JsonOption = None,
) -> None:
    """Download an official data set (checksums checked), or take files already downloaded.

    A file whose checksum differs from the published one is not kept; a file with no published
    checksum is kept and its sha256 printed, marked unverified."""
    from ..official_data import fetch as fetch_files
    from ..official_data import registry_rows

    if list_:
        console.print(registry_table())
        console.print("[dim]Each digest's public source: docs/official_data.md, or checksum_source in --json.[/dim]")
        console.print("[dim]A fetch checks the first digest listed. 'none published': after download the[/dim]")
        console.print("[dim]file is kept, its sha256 printed, and it is never reported as verified.[/dim]")
        write_json(json_path, registry_rows())
        return
    if dataset is None:
        raise ValueError("name a data set (hepbench data fetch --list shows them)")
    rows = fetch_files(
        dataset,
        to,
        from_dir=from_dir,
        names=files,
        progress=progress,
        report=lambda line: err_console.print(f"[yellow]warning:[/yellow] {line}"),
    )
    for row in rows:
        state = "verified" if row["verified"] else "UNVERIFIED"
        console.print(f"{row['how']}: {row['path']} ({state}, sha256 {row['sha256']})")
    write_json(json_path, {"dataset": dataset, "files": rows})


@data_app.command("import")
@handles_errors
def import_official(
    challenge: ChallengeArg,
    official: Annotated[
        Path,
        typer.Option(
            "--official",
            help="Official file or folder: the FAIR Universe parquet / folder / zip (higgs-uncertainty); "
            "an R&D features or particle .h5 (lhco); the folder of the CaloChallenge .hdf5 files (calo).",
        ),
    ],
    to: Annotated[
        Path | None, typer.Option("--to", help="Data folder (default hepbench-data/CHALLENGE/official).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split (lhco: CATHODE's --seed).")] = 1,
    signal_over_background: Annotated[
        float | None,
        typer.Option(
            "--signal-over-background", help="lhco: injected S/B in the signal region (default CATHODE's 0.00636)."
        ),
    ] = None,
    extra_qcd: Annotated[
        Path | None,
        typer.Option(
            "--extra-qcd", help="lhco: events_anomalydetection_qcd_extra_inneronly_features.h5 (CATHODE's split)."
        ),
    ] = None,
    geometry: Annotated[
        str | None, typer.Option(help="calo: only this geometry (ds1-photons, ds1-pions, ds2, ds3).")
    ] = None,
    luminosity: Annotated[
        float | None,
        typer.Option("--luminosity", help="higgs-uncertainty: fb^-1 the weights stand for (default the record's)."),
    ] = None,
    test_fraction: Annotated[
        float | None, typer.Option(help="higgs-uncertainty: share of rows in the test split (0.5).")
    ] = None,
    max_events: Annotated[int | None, typer.Option(help="higgs-uncertainty: read only the first N rows.")] = None,
    scheduler: SchedulerOption = "serial",
    workers: WorkersOption = None,
    json_path: JsonOption = None,
) -> None:
    """Turn official data files into a data folder for `--data` (train / test splits with sidecars,
    the anchor's split where it defines one)."""
    from ..datafiles import require_data_folder

    spec = challenges.get(challenge)
    target = to or challenges.base.DEFAULT_DATA_ROOT / spec.id / "official"
    given = {
        "seed": seed,
        "signal_over_background": signal_over_background,
        "extra_qcd": extra_qcd,
        "geometry": geometry,
        "luminosity_fb": luminosity,
        "test_fraction": test_fraction,
        "max_events": max_events,
    }
    options = {k: v for k, v in given.items() if k in spec.import_options and v is not None}
    ignored = [k for k, v in given.items() if v is not None and k not in spec.import_options and k != "seed"]
    if ignored:
        raise ValueError(f"{challenge} takes no {', '.join('--' + k.replace('_', '-') for k in ignored)}")
    calo_in_place = (
        spec.id == "calo" and Path(target).resolve() == (official if official.is_dir() else official.parent).resolve()
    )
    if not calo_in_place:
        require_data_folder(target, spec.is_generated, spec.id)
    from ..parallel import dask_client

    if "client" in spec.import_options:  # lhco: the particle file's jets are clustered in chunks
        with dask_client(scheduler, workers) as client:
            summary = spec.import_official(official, Path(target), client=client, **options)
    else:
        with console.status(f"importing {official} into {target}", spinner="dots"):
            summary = spec.import_official(official, Path(target), **options)
    from .data_cmd import rows_table

    rows = [{"_name": name, **counts} for name, counts in summary.get("files", {}).items()]
    columns = summary.get("file_columns") or [k for k in dict.fromkeys(k for r in rows for k in r) if k != "_name"]
    console.print(rows_table(f"{challenge} / official -> {target}", rows, columns, first="file"))
    console.print(f"run any baseline on it with --data {target}")
    write_json(json_path, {"challenge": challenge, "official": official, "out": target, **summary})
