"""The challenges hepbench hosts, and how each one ranks its submissions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankingMetric:
    name: str
    higher_is_better: bool
    description: str


@dataclass(frozen=True)
class Challenge:
    id: str
    title: str
    description: str
    presets: tuple[str, ...]
    ranking: tuple[RankingMetric, ...]
    """Primary metric first, then the tie-breakers."""


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
            RankingMetric("coverage_score", True, "-ln((width + 1e-3) * f(coverage))"),
            RankingMetric("width", False, "mean interval width"),
            RankingMetric("mae", False, "mean absolute error plus interval mismatch"),
        ),
    ),
}


def get_challenge(challenge_id: str) -> Challenge:
    try:
        return CHALLENGES[challenge_id]
    except KeyError:
        raise ValueError(f"unknown challenge {challenge_id!r}; known: {sorted(CHALLENGES)}") from None
