"""Every registered HiggsML Uncertainty baseline trains and answers end to end (tiny preset and
configs; the comparison table in docs/results.md holds their measured performance)."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan

pytestmark = pytest.mark.slow  # minutes in all: the full suite runs it, `-m "not slow"` skips it


@pytest.mark.parametrize("method", sorted(challenges.get("higgs-uncertainty").baselines()))
def test_baseline_runs_end_to_end(method, higgs_tiny) -> None:
    estimator = challenges.get("higgs-uncertainty").baseline(method).factory("tiny", "cpu", 0).fit(higgs_tiny.train)
    results = evaluate_plan(estimator, higgs_tiny.test, make_test_plan(1, 2, initial_seed=11), progress=False)
    assert (results["status"] == "ok").all(), results["message"].tolist()
    answers = results[["mu_hat", "delta_mu_hat", "p16", "p84"]].to_numpy()
    assert np.isfinite(answers).all()
    assert ((results["p16"] < results["mu_hat"]) & (results["mu_hat"] < results["p84"])).all()
    scores = estimator.decision_score(higgs_tiny.test.iloc[:1000])
    assert scores.shape == (1000,) and np.isfinite(scores).all()
