"""``hepbench data generate|validate|black-box|export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import challenges
from .apps import (
    ChallengeArg,
    DataDirOption,
    JsonOption,
    PresetOption,
    ProgressOption,
    SchedulerOption,
    SeedOption,
    WorkersOption,
    data_app,
    handles_errors,
    writable_folder,
)
from .output import console, write_json


def rows_table(title: str, rows: list[dict[str, Any]], columns: list[str] | None = None, *, first: str | None = None):
    """A rich table of ``rows`` (dicts); numbers formatted to 3-4 significant digits."""
    from rich.table import Table

    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    table = Table(title=title)
    if first:
        table.add_column(first, justify="right")
    for column in columns:
        table.add_column(column, justify="right")

    def fmt(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"

    for row in rows:
        cells = [fmt(row.get(c, "")) for c in columns]
        table.add_row(*([row["_name"]] if first else []), *cells)
    return table


@data_app.command("generate")
@handles_errors
def generate(
    challenge: ChallengeArg,
    preset: PresetOption = "small",
    seed: SeedOption = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default hepbench-data/CHALLENGE/PRESET-seedSEED).", callback=writable_folder),
    ] = None,
    scheduler: SchedulerOption = "local",
    workers: WorkersOption = None,
    json_path: JsonOption = None,
    constituents: Annotated[
        int | None,
        typer.Option(min=3, help="lhco: also write the jets' particles, up to N per jet (particle-level networks)."),
    ] = None,
    geometry: Annotated[
        str | None,
        typer.Option(help="calo: only this geometry of the preset (e.g. --preset full --geometry ds1-photons)."),
    ] = None,
    correlated: Annotated[
        bool,
        typer.Option(help="lhco: the correlated-feature variant (m_j1 -> m_j1 + 0.1 m_jj in every file)."),
    ] = False,
) -> None:
    """Generate the train and test splits of a preset, with JSON sidecars (and a challenge's
    default test plan).

    The independent streams are generated in parallel on ``--scheduler``; the files are
    byte-identical whichever scheduler made them."""
    from ..parallel import dask_client

    spec = challenges.get(challenge)
    spec.check_preset(preset)
    target = out or spec.data_dir(preset, seed)
    spec.holds_data(target)  # never generate into a folder of other files
    with (
        dask_client(scheduler, workers) as client,
        console.status(f"generating {challenge} preset {preset!r} (seed {seed})", spinner="dots"),
    ):
        given = {"constituents": constituents, "geometry": geometry, "correlated": correlated or None}
        options = {k: v for k, v in given.items() if v is not None}
        summary = spec.generate(preset, seed, target, client=client, **options)
    rows = [{"_name": name, **counts} for name, counts in summary.get("files", {}).items()]
    columns = summary.get("file_columns") or [k for k in dict.fromkeys(k for r in rows for k in r) if k != "_name"]
    console.print(rows_table(f"{challenge} / {preset} / seed {seed} -> {target}", rows, columns, first="file"))
    write_json(json_path, {"challenge": challenge, "preset": preset, "seed": seed, "out": target, **summary})


@data_app.command("validate")
@handles_errors
def validate(
    challenge: ChallengeArg,
    real: Annotated[
        Path | None,
        typer.Option(
            help="Real rows to compare with (default: the sample shipped with "
            "hepbench): the 2014 ATLAS HiggsML CSV or a FAIR Universe parquet "
            "(higgs-uncertainty); the high-level subset folder or an R&D particle file (.h5: compares "
            "the generator's particles) (lhco)."
        ),
    ] = None,
    events_per_process: Annotated[int, typer.Option(help="Generated events per process.")] = 200_000,
    seed: SeedOption = 1,
    out: Annotated[
        Path,
        typer.Option(help="Folder for the table (CSV, markdown) and the PNG histograms.", callback=writable_folder),
    ] = Path("validation"),
    json_path: JsonOption = None,
) -> None:
    """Compare generated events with real simulation: per-feature distances and overlaid histograms."""
    result = challenges.get(challenge).validate_data(real, out, seed=seed, events_per_process=events_per_process)
    title = (
        f"generated vs {result['real']} (W1 / std of real; KS)" if "real" in result else f"{challenge}: physics checks"
    )
    console.print(rows_table(title, result["rows"], result["columns"]))
    if result.get("two_sample"):
        two_sample = result["two_sample"]
        console.print(
            rows_table(
                "classifier two-sample test: AUC of generated vs real (5 folds)", two_sample, list(two_sample[0])
            )
        )
    console.print(f"histograms and tables written under {out}")
    write_json(
        json_path, result.get("physics", {"distances": result["rows"], "two_sample": result.get("two_sample", [])})
    )


@data_app.command("black-box")
@handles_errors
def black_box(
    config: Annotated[
        Path, typer.Argument(help="The organiser's secret configuration (JSON, outside any shared folder).")
    ],
    public: Annotated[
        Path, typer.Option(help="Folder for what participants get (unlabelled data).", callback=writable_folder)
    ],
    organiser: Annotated[
        Path, typer.Option(help="Folder for the truth; never give it to participants.", callback=writable_folder)
    ],
    json_path: JsonOption = None,
) -> None:
    """lhco: generate a black box from a secret configuration; the truth goes to --organiser only.

    Score an answer with `hepbench score lhco ANSWER.json ORGANISER_DIR`."""
    from ..challenges.lhco.black_box import make_black_box

    with console.status(f"generating the black box of {config}", spinner="dots"):
        truth = make_black_box(config, public, organiser)
    console.print(f"public data: {public / 'data.parquet'} ({truth['n_events']:,} events); truth kept in {organiser}")
    # The truth stays out of the terminal and the JSON: only what participants may see.
    write_json(json_path, {"challenge": "lhco", "public": public, "n_events": truth["n_events"]})


@data_app.command("export")
@handles_errors
def export(
    challenge: ChallengeArg,
    unbinned: Annotated[
        Path,
        typer.Option("--unbinned", help="Output folder: manifest.yaml and one HDF5 array per data set and variation."),
    ],
    preset: PresetOption = "tiny",
    seed: SeedOption = 0,
    data: DataDirOption = None,
    replicas: Annotated[
        int, typer.Option("--replicas", help="Q bootstrap replicas (Poisson(1) weights) per data set.")
    ] = 0,
    replica_seed: Annotated[
        int | None, typer.Option(help="Seed of the bootstrap replicas (default: derived from --seed; recorded).")
    ] = None,
    data_set: Annotated[
        list[str] | None, typer.Option("--set", help="Export only this data set (repeat the option), e.g. train.")
    ] = None,
    progress: ProgressOption = True,
    json_path: JsonOption = None,
) -> None:
    """Export a data set with its systematic variations in the unbinned format (docs/export.md):
    (M+1) x N x (k+1) arrays (nominal + M variations; k features and a weight) and Q replicas."""
    from ..challenges.export import export_unbinned

    manifest = export_unbinned(
        challenges.get(challenge),
        preset=preset,
        seed=seed,
        out=unbinned,
        data_dir=data,
        replicas=replicas,
        bootstrap_seed=replica_seed,
        sets=data_set,
        progress=progress,
    )
    rows = [
        {
            "set": s["name"],
            "events": s["n_events"],
            "features": len(s["features"]),
            "variations": len(s["variations"]),
            "replicas": s.get("replicas", {}).get("n", 0),
        }
        for s in manifest["sets"]
    ]
    console.print(rows_table(f"{challenge} / {preset}: unbinned export", rows))
    console.print(f"wrote {unbinned / 'manifest.yaml'}")
    write_json(json_path, manifest)
