"""``leaderboard phase --plan`` checks the hidden truth before storing it, and ``--clear-plan`` forgets it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.leaderboard.models import PhaseRow
from hepbench.leaderboard.submissions import configure_phase, sync_challenges


def _plan_path(store) -> str | None:
    with store.transaction() as session:
        rows = session.scalars(select(PhaseRow)).all()
        return next(r.plan_path for r in rows if r.challenge.slug == "higgs-uncertainty" and r.slug == "public")


def test_a_bad_plan_is_refused_naming_the_file_and_a_good_one_can_be_cleared(store, tmp_path) -> None:
    sync_challenges(store)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.json: not JSON"):
        configure_phase(store, "higgs-uncertainty", "public", plan=broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"n_sets": 1}')
    with pytest.raises(ValueError, match=r"wrong.json: not a test plan \(field 'pseudo_experiments'"):
        configure_phase(store, "higgs-uncertainty", "public", plan=wrong)
    assert _plan_path(store) is None
    make_test_plan(1, 2, initial_seed=7).to_json(tmp_path / "plan.json")
    configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json")
    assert _plan_path(store) == str((tmp_path / "plan.json").resolve())
    with pytest.raises(ValueError, match="either --plan or --clear-plan"):
        configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json", clear_plan=True)
    configure_phase(store, "higgs-uncertainty", "public", clear_plan=True)
    assert _plan_path(store) is None
