"""The challenges hepbench hosts, and how each one ranks its submissions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankingMetric:
    name: str
    higher_is_better: bool
    description: str
    label: str = ""
    """Column heading on the leaderboard (default: the name)."""


@dataclass(frozen=True)
class MetricColumn:
    """A metric the leaderboard shows beside the ranking metrics (it does not rank)."""

    name: str
    label: str
    fmt: str = ".3f"


@dataclass(frozen=True)
class PhaseSpec:
    """A test split of a challenge. A hidden phase's scores stay hidden until the organiser
    reveals them (``hepbench leaderboard phase CHALLENGE hidden --reveal``)."""

    slug: str
    title: str
    hidden: bool = False


@dataclass(frozen=True)
class Challenge:
    id: str
    title: str
    description: str
    presets: tuple[str, ...]
    ranking: tuple[RankingMetric, ...]
    """Primary metric first, then the tie-breakers."""
    columns: tuple[MetricColumn, ...] = ()
    """Further metrics shown on the leaderboard."""
    phases: tuple[PhaseSpec, ...] = (PhaseSpec("public", "Public test"), PhaseSpec("hidden", "Hidden test", hidden=True))


CHALLENGES: dict[str, Challenge] = {
    "higgs-uncertainty": Challenge(
        id="higgs-uncertainty",
        title="HiggsML Uncertainty",
        description=(
            "Measure the H->tautau signal strength mu with a 68.27% interval in pseudo-experiments "
            "with six systematic uncertainties."
        ),
        presets=("tiny", "small", "full"),
        ranking=(
            RankingMetric("coverage_score", True, "-ln((width + 1e-3) * f(coverage))", "coverage score"),
            RankingMetric("width", False, "mean interval width"),
            RankingMetric("mae", False, "mean absolute error plus interval mismatch", "MAE"),
        ),
        columns=(
            MetricColumn("coverage", "coverage"),
            MetricColumn("rmse", "RMSE"),
            MetricColumn("auc", "AUC"),
            MetricColumn("ams", "AMS", ".2f"),
            MetricColumn("n_failed", "failed PE", "d"),
            MetricColumn("train_seconds", "train s", ".0f"),
            MetricColumn("predict_seconds_mean", "s / PE", ".2f"),
        ),
    ),
    "lhco": Challenge(
        id="lhco",
        title="LHC Olympics anomaly detection",
        description=(
            "Find a dijet resonance (W' -> X Y, hidden among QCD dijets at S/B ~ 0.6% in the signal region) "
            "without labels: score events in the signal region, ranked by the maximum significance improvement."
        ),
        presets=("tiny", "small", "full"),
        ranking=(
            RankingMetric("max_sic", True, "max eps_S / sqrt(eps_B) over cuts with eps_B > 1.84e-5", "max SIC"),
            RankingMetric("auc", True, "ROC AUC on the labelled signal-region test set", "AUC"),
        ),
        columns=(
            MetricColumn("rejection_at_eps_s_0.5", "1/eps_B @ eps_S=0.5", ".1f"),
            MetricColumn("rejection_at_eps_s_0.2", "1/eps_B @ eps_S=0.2", ".1f"),
            MetricColumn("bump_hunt_z_max", "bump-hunt Z", ".2f"),
            MetricColumn("train_seconds", "train s", ".0f"),
        ),
    ),
    "calo": Challenge(
        id="calo",
        title="Calorimeter fast simulation",
        description=(
            "Generate calorimeter showers (CaloChallenge 2022 formats) indistinguishable from the reference "
            "simulation, conditioned on the incident energy."
        ),
        presets=("tiny", "small", "full"),
        ranking=(
            RankingMetric("auc_low", False, "AUC of a classifier reference vs generated on voxels (0.5 = indistinguishable)",
                          "AUC low-level"),
            RankingMetric("fpd", False, "Frechet physics distance of the high-level features", "FPD"),
        ),
        columns=(
            MetricColumn("auc_high", "AUC high-level"),
            MetricColumn("kpd", "KPD", ".2e"),
            MetricColumn("separation_power_mean", "mean sep. power"),
        ),
    ),
}


def get_challenge(challenge_id: str) -> Challenge:
    try:
        return CHALLENGES[challenge_id]
    except KeyError:
        raise ValueError(f"unknown challenge {challenge_id!r}; known: {sorted(CHALLENGES)}") from None
