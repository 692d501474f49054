"""Ranking from each challenge's declaration; baselines marked; hidden phases revealed on request."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest

from hepbench import challenges
from hepbench.challenges import RankingMetric
from hepbench.leaderboard.imports import add_records
from hepbench.leaderboard.queue import work
from hepbench.leaderboard.ranking import Entry, board, rank_entries
from hepbench.leaderboard.submissions import configure_phase

T0 = dt.datetime(2026, 1, 1)


def entry(i: int, **metrics: float | None) -> Entry:
    return Entry(
        i,
        f"p{i}",
        f"m{i}",
        "",
        False,
        T0 + dt.timedelta(minutes=i),
        "scored",
        "",
        1,
        metrics={k: (v, None) for k, v in metrics.items()},
    )


def declared(*ranking: RankingMetric) -> SimpleNamespace:
    """What ranking reads of a challenge: its ranking metrics and columns."""
    return SimpleNamespace(id="toy", title="Toy", ranking=ranking, columns=())


TOY = declared(RankingMetric("score", True, ""), RankingMetric("width", False, ""))


def test_primary_metric_and_its_direction_rank():
    ranked = rank_entries(
        TOY, [entry(1, score=0.1, width=1), entry(2, score=0.9, width=1), entry(3, score=0.5, width=1)]
    )
    assert [e.submission_id for e in ranked] == [2, 3, 1] and [e.rank for e in ranked] == [1, 2, 3]
    lower = declared(RankingMetric("width", False, ""))
    assert [e.submission_id for e in rank_entries(lower, [entry(1, width=2.0), entry(2, width=0.5)])] == [2, 1]


def test_tie_breakers_then_shared_ranks():
    ranked = rank_entries(
        TOY,
        [
            entry(1, score=0.5, width=2.0),
            entry(2, score=0.5, width=1.0),
            entry(3, score=0.5, width=2.0),
            entry(4, score=0.1, width=0.1),
        ],
    )
    assert [e.submission_id for e in ranked] == [2, 1, 3, 4]
    assert [e.rank for e in ranked] == [1, 2, 2, 4]


def test_missing_or_non_finite_values_rank_last():
    ranked = rank_entries(
        TOY,
        [
            entry(1, score=None, width=1),
            entry(2, score=-5.0, width=1),
            entry(3, score=math.nan, width=1),
            entry(4, width=1),
        ],
    )
    assert ranked[0].submission_id == 2 and {e.submission_id for e in ranked[1:]} == {1, 3, 4}


def test_every_declared_metric_is_produced_by_the_higgs_scorer(store, tmp_path):
    """The leaderboard columns of HiggsML are exactly what scoring a run record stores."""
    from pathlib import Path

    from hepbench.leaderboard.imports import add_results

    add_results(store, Path(__file__).resolve().parents[1] / "docs/results/higgs_bdt_template_fit_small_10x50.json")
    work(store)
    b = board(store, "higgs-uncertainty", "public")
    declared = challenges.get("higgs-uncertainty")
    names = [m.name for m in declared.ranking] + [c.name for c in declared.columns]
    assert all(b.ranked[0].metrics[n][0] is not None for n in names), b.ranked[0].metrics
    assert b.ranked[0].metrics["coverage_score"][1] is not None  # bootstrap error bar


def test_every_challenge_declares_a_public_and_a_hidden_phase():
    for challenge in challenges.all():
        assert [(p.slug, p.hidden) for p in challenge.phases] == [("public", False), ("hidden", True)]


def test_board_ranks_by_the_declaration_and_marks_baselines(store, make_record):
    add_records(
        store,
        [make_record("good", 0.5, width=0.8), make_record("tied-wider", 0.5, width=0.9), make_record("bad", -1.0)],
    )
    add_records(store, [make_record("participant-best", 0.9)], participant="alice")
    work(store)
    b = board(store, "higgs-uncertainty", "public")
    assert [e.method for e in b.ranked] == ["participant-best", "good", "tied-wider", "bad"]
    assert [e.is_baseline for e in b.ranked] == [True, True, True, True]  # add_records imports baselines
    assert b.ranked[1].metrics["coverage_score"] == (0.5, 0.05)


def test_hidden_phase_scores_appear_only_when_revealed(store, make_record):
    add_records(store, [make_record("a", 0.1), make_record("b", 0.7)], phase="hidden")
    work(store)
    hidden = board(store, "higgs-uncertainty", "hidden")
    assert not hidden.visible and hidden.ranked == []
    assert [e.method for e in hidden.pending] == ["a", "b"] and all(e.metrics == {} for e in hidden.pending)
    organiser = board(store, "higgs-uncertainty", "hidden", organiser=True)
    assert [e.method for e in organiser.ranked] == ["b", "a"]
    configure_phase(store, "higgs-uncertainty", "hidden", revealed=True)
    revealed = board(store, "higgs-uncertainty", "hidden")
    assert revealed.visible and [e.method for e in revealed.ranked] == ["b", "a"]
    assert revealed.ranked[0].metrics["coverage_score"][0] == pytest.approx(0.7)


def test_failed_submissions_are_listed_with_their_reason(store, make_record):
    from hepbench.leaderboard import queue

    add_records(store, [make_record("first", 0.1)])
    add_records(store, [make_record("second", 0.2)])
    claim = queue.claim_next(store)  # the oldest queued run: "first"
    queue.fail(store, claim, "scorer crashed: ValueError")
    work(store)
    b = board(store, "higgs-uncertainty", "public")
    assert [e.method for e in b.ranked] == ["second"]
    assert [(e.method, e.state, e.reason) for e in b.pending] == [("first", "failed", "scorer crashed: ValueError")]
