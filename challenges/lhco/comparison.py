"""The comparison table of LHCO anomaly detectors over training seeds, as Markdown for
``docs/results.md``, and the SIC curves as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..sections import section_markers

# The anchor's median max SIC at S/B ~ 0.6% (CATHODE paper), for the table's last column.
ANCHOR_MAX_SIC: dict[str, float] = {
    "supervised": 17.6,
    "idealized-ad": 15.1,
    "cathode": 14.0,
    "cwola-hunting": 10.8,
    "anode": 6.5,
    "autoencoder": 3.3,
}


def background_floor(records: list[dict[str, Any]]) -> str:
    """The max-SIC floor of ``records`` as a phrase for captions, e.g. "at least 25 background
    events of the test set above the cut"; raises ValueError if the records mix floors."""
    floors = {r["metrics"]["min_background"] for r in records}
    if len(floors) != 1:
        raise ValueError(
            f"the records were scored with different max-SIC floors {sorted(floors)}; compare like with like"
        )
    n = floors.pop()
    return f"at least {n:g} background events of the test set above the cut (eps_B uncertainty <= {1 / n**0.5:.0%})"


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method, in first-seen order: median and 16-84% range of max SIC over its records
    (one per training seed), medians of AUC, rejections, bump-hunt Z and training time."""
    methods: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        methods.setdefault(record["method"], []).append(record)
    rows = []
    for method, runs in methods.items():
        sic = np.array([r["metrics"]["max_sic"] for r in runs])

        def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
            values = [r["metrics"][key] for r in runs if key in r["metrics"]]
            return float(np.median(values)) if values else float("nan")

        rows.append(
            {
                "method": method,
                "n_seeds": len(runs),
                "max_sic_median": float(np.median(sic)),
                "max_sic_p16": float(np.percentile(sic, 16)),
                "max_sic_p84": float(np.percentile(sic, 84)),
                "auc_median": median("auc"),
                "rejection_0.2_median": median("rejection_at_eps_s_0.2"),
                "rejection_0.5_median": median("rejection_at_eps_s_0.5"),
                "bump_hunt_z_max_median": median("bump_hunt_z_max"),
                "train_seconds_median": float(np.median([r["train_seconds"] for r in runs])),
                "anchor_max_sic": ANCHOR_MAX_SIC.get(method, float("nan")),
            }
        )
    return rows


def comparison_markdown(
    records: list[dict[str, Any]],
    *,
    name: str,
    title: str,
    command: str,
    machine: str,
    date: str,
    plot: str | None = None,
) -> str:
    """The marked section ``name`` (e.g. ``comparison:lhco:generated-small``) with the summary table."""
    begin, end = section_markers(name)
    first = records[0]
    lines = [
        begin,
        f"### {title}",
        "",
        f"Data: preset `{first['preset']}`, data seed {first['data_seed']}, {first['n_signal_injected']} signal events "
        f"injected (S/B in the signal region {first['s_over_b_signal_region']:.2%}); test set "
        f"{first['n_test']['signal']:,} signal + {first['n_test']['background']:,} background events in the signal region. "
        f"Training seeds {', '.join(str(s) for s in sorted({r['model_seed'] for r in records}))}. "
        f"Median over training seeds, 16-84% range in brackets; max SIC over cuts keeping {background_floor(records)}.",
        f"Machine: {machine}; {date}. Command: `{command}`",
        "",
        "| method | seeds | max SIC | AUC | 1/eps_B @ eps_S=0.2 | 1/eps_B @ eps_S=0.5 | bump-hunt Z (best cut) | train s | anchor max SIC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summarise(records):
        anchor = "" if np.isnan(row["anchor_max_sic"]) else f"{row['anchor_max_sic']:.1f}"
        bump = "n/a" if np.isnan(row["bump_hunt_z_max_median"]) else f"{row['bump_hunt_z_max_median']:.2f}"
        lines.append(
            f"| {row['method']} | {row['n_seeds']} | {row['max_sic_median']:.2f} "
            f"[{row['max_sic_p16']:.2f}, {row['max_sic_p84']:.2f}] | {row['auc_median']:.3f} | "
            f"{row['rejection_0.2_median']:.1f} | {row['rejection_0.5_median']:.1f} | "
            f"{bump} | {row['train_seconds_median']:.0f} | {anchor} |"
        )
    if plot:
        lines += ["", f"![SIC curves]({plot})"]
    lines.append(end)
    return "\n".join(lines) + "\n"


def _sic_above_floor(record: dict[str, Any]) -> np.ndarray:
    """The record's stored SIC curve, NaN where its cut keeps fewer test background events than
    the record's ``min_background``."""
    curve = record["sic_curve"]
    n_background = np.asarray(curve["eps_b"]) * record["n_test"]["background"]
    floor = record["metrics"]["min_background"] * (1.0 - 1e-9)  # eps_b * n carries rounding
    return np.where(n_background >= floor, np.asarray(curve["sic"], dtype=float), np.nan)


def plot_sic_curves(records: list[dict[str, Any]], path: str | Path, title: str) -> Path:
    """SIC against signal efficiency, the median over seeds of each method (PNG at ``path``),
    drawn only where every seed's cut keeps at least the records' ``min_background`` test
    background events (the max-SIC floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    methods: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        methods.setdefault(record["method"], []).append(record)
    for method, runs in methods.items():
        eps_s = np.asarray(runs[0]["sic_curve"]["eps_s"])
        # Below the floor a point is NaN, and so is the median over seeds: matplotlib leaves a gap.
        sic = np.median([_sic_above_floor(r) for r in runs], axis=0)
        ax.plot(eps_s, sic, label=method)
    ax.plot([1e-3, 1], [1, 1], color="grey", linestyle=":", label="random")
    ax.set_xscale("log")
    ax.set_xlabel("signal efficiency eps_S")
    ax.set_ylabel("SIC = eps_S / sqrt(eps_B)")
    ax.set_title(f"{title}\n(drawn where >= {records[0]['metrics']['min_background']:g} background events pass)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
