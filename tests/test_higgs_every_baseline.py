"""Every registered HiggsML Uncertainty baseline trains and answers end to end (tiny configs on
60,000 training events of the tiny preset; the comparison table in docs/results.md holds their
measured performance, test_higgs_baselines their coverage)."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.higgs_uncertainty.submission import subsample_train

pytestmark = pytest.mark.slow  # minutes in all: the full suite runs it, `-m "not slow"` skips it

# A sixth of the tiny training set (yields kept): every template, grid point and training step
# still runs, in a sixth of the time; this test asks for answers, not for their quality.
TRAIN_EVENTS = 60_000


@pytest.fixture(scope="module")
def train(higgs_tiny):
    return subsample_train(higgs_tiny.train, TRAIN_EVENTS, seed=0)


@pytest.mark.parametrize("method", sorted(challenges.get("higgs-uncertainty").baselines()))
def test_baseline_runs_end_to_end(method, higgs_tiny, train) -> None:
    estimator = challenges.get("higgs-uncertainty").baseline(method).factory("tiny", "cpu", 0).fit(train)
    results = evaluate_plan(estimator, higgs_tiny.test, make_test_plan(1, 2, initial_seed=11), progress=False)
    assert (results["status"] == "ok").all(), results["message"].tolist()
    answers = results[["mu_hat", "delta_mu_hat", "p16", "p84"]].to_numpy()
    assert np.isfinite(answers).all()
    assert ((results["p16"] < results["mu_hat"]) & (results["mu_hat"] < results["p84"])).all()
    scores = estimator.decision_score(higgs_tiny.test.iloc[:1000])
    assert scores.shape == (1000,) and np.isfinite(scores).all()
