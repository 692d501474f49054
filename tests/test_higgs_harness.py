"""The evaluation harness: answers recorded, bad answers fail their pseudo-experiment only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan, score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.higgs_uncertainty.schema import FEATURES


@pytest.fixture(scope="module")
def test_set(fair_sample: pd.DataFrame) -> pd.DataFrame:
    scaled = fair_sample.copy()
    scaled["weights"] *= 0.002
    return scaled


class Oracle:
    """Knows mu_true through the plan; answers a fixed-width interval around it."""

    def __init__(self, plan, width: float) -> None:
        self.mus = iter(plan.table["mu_true"].tolist())
        self.width = width

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        assert list(data.columns) == list(FEATURES)  # no truth reaches the model
        mu = next(self.mus)
        return {"mu_hat": mu, "delta_mu_hat": self.width / 2, "p16": mu - self.width / 2, "p84": mu + self.width / 2}


class Misbehaving:
    """Answers NaN, a missing key, raises, or answers well, in turn."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        self.calls += 1
        kind = self.calls % 4
        if kind == 1:
            return {"mu_hat": float("nan"), "delta_mu_hat": 0.1, "p16": 0.9, "p84": 1.1}
        if kind == 2:
            return {"mu_hat": 1.0, "p16": 0.9, "p84": 1.1}
        if kind == 3:
            raise MemoryError("out of memory in the model")
        return {"mu_hat": 1.0, "delta_mu_hat": 0.1, "p16": 0.9, "p84": 1.1}


def test_oracle_covers_everything(test_set: pd.DataFrame) -> None:
    plan = make_test_plan(2, 3, initial_seed=1)
    results = evaluate_plan(Oracle(plan, 0.5), test_set, plan, progress=False)
    assert (results["status"] == "ok").all()
    assert (results["n_events"] > 100).all()
    assert (results["predict_seconds"] >= 0).all()
    metrics = score_results(results, n_bootstrap=20)
    assert metrics["coverage"] == 1.0
    assert metrics["width"] == pytest.approx(0.5)
    assert metrics["n_failed"] == 0


def test_bad_answers_fail_only_their_pseudo_experiment(test_set: pd.DataFrame) -> None:
    plan = make_test_plan(2, 4, initial_seed=2)
    results = evaluate_plan(Misbehaving(), test_set, plan, progress=False)
    assert list(results["status"]) == ["failed", "failed", "failed", "ok"] * 2
    messages = results["message"].tolist()
    assert "answer['mu_hat'] is nan" in messages[0]
    assert "lacks key(s) ['delta_mu_hat']" in messages[1]
    assert messages[2] == "MemoryError: out of memory in the model"
    metrics = score_results(results, n_bootstrap=0)
    assert metrics["n_failed"] == 6
    # failures are scored as the whole prior range, reversed: width 2.9 and never covered
    assert metrics["width"] == pytest.approx((6 * 2.9 + 2 * 0.2) / 8)
    assert metrics["coverage"] <= 2 / 8


def test_results_are_streamed_as_they_come(test_set: pd.DataFrame) -> None:
    plan = make_test_plan(1, 3, initial_seed=3)
    seen: list[dict] = []
    evaluate_plan(Oracle(plan, 0.2), test_set, plan, progress=False, on_result=seen.append)
    assert [r["pe_index"] for r in seen] == [0, 1, 2]
    assert np.isfinite([r["mu_hat"] for r in seen]).all()
