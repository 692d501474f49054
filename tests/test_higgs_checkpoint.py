"""A stopped HiggsML run continues from its checkpoint: the model is not retrained, the answers
already kept are not redone, and the record is the uninterrupted run's."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.higgs_uncertainty.run import RunCheckpoint, run_estimator


class Stop(BaseException):
    """Stands for the run being killed (not an error of the estimator, which would be recorded)."""


class CountingEstimator:
    """Answers from the event count; can be told to stop the run after some answers."""

    stop_after: int | None = None
    fits = 0
    predictions = 0

    def fit(self, train: pd.DataFrame) -> CountingEstimator:
        CountingEstimator.fits += 1
        self.scale = 1.0 / len(train)
        return self

    def predict(self, data: pd.DataFrame) -> dict[str, float]:
        if CountingEstimator.stop_after is not None and CountingEstimator.predictions >= CountingEstimator.stop_after:
            raise Stop
        CountingEstimator.predictions += 1
        mu = len(data) * self.scale
        return {"mu_hat": mu, "delta_mu_hat": 0.3, "p16": mu - 0.3, "p84": mu + 0.3}


@pytest.fixture()
def dataset(fair_sample: pd.DataFrame) -> SimpleNamespace:
    test = fair_sample.copy()
    test["weights"] *= 0.002
    return SimpleNamespace(train=fair_sample, test=test, preset="tiny", seed=7)


IDENTITY = {"method": "counting", "plan_seed": 4, "n_sets": 2, "n_pseudo_experiments": 3}


def _answers(record: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "predict_seconds"} for row in record["pseudo_experiments"]]


def test_a_stopped_run_resumes_without_retraining_or_redoing(dataset, tmp_path) -> None:
    plan = make_test_plan(2, 3, initial_seed=4)

    def run(checkpoint: RunCheckpoint | None = None) -> dict:
        return run_estimator(
            "counting",
            CountingEstimator(),
            dataset,
            plan,
            device="cpu",
            progress=False,
            n_bootstrap=0,
            checkpoint=checkpoint,
        )

    CountingEstimator.fits = CountingEstimator.predictions = 0
    CountingEstimator.stop_after = None
    whole = run()

    CountingEstimator.fits = CountingEstimator.predictions = 0
    CountingEstimator.stop_after = 4
    folder = tmp_path / "run"
    with pytest.raises(Stop):
        run(RunCheckpoint(folder, IDENTITY))
    assert CountingEstimator.fits == 1
    assert len((folder / "answers.jsonl").read_text().splitlines()) == 4

    with pytest.raises(ValueError, match="pass --resume"):
        RunCheckpoint(folder, IDENTITY)
    with pytest.raises(ValueError, match="field 'plan_seed' is 4 there but 5"):
        RunCheckpoint(folder, {**IDENTITY, "plan_seed": 5}, resume=True)

    CountingEstimator.stop_after = None
    resumed = run(RunCheckpoint(folder, IDENTITY, resume=True))
    assert CountingEstimator.fits == 1  # the kept model, not a new training
    assert CountingEstimator.predictions == 6  # 4 before the stop, 2 after
    assert _answers(resumed) == _answers(whole)
    assert resumed["metrics"] == whole["metrics"]


def test_a_line_cut_short_by_a_stop_is_redone(tmp_path) -> None:
    folder = tmp_path / "run"
    checkpoint = RunCheckpoint(folder, IDENTITY)
    checkpoint.keep_answer({"set_index": 0, "pe_index": 0, "mu_hat": float("nan")})
    with (folder / "answers.jsonl").open("a") as handle:
        handle.write('{"set_index": 0, "pe_in')
    resumed = RunCheckpoint(folder, IDENTITY, resume=True)
    rows = resumed.answers()
    assert len(rows) == 1 and rows[0]["pe_index"] == 0
    resumed.keep_answer({"set_index": 0, "pe_index": 1, "mu_hat": 1.5})
    assert [r["pe_index"] for r in resumed.answers()] == [0, 1]
    assert json.loads((folder / "identity.json").read_text()) == IDENTITY


def test_a_network_stopped_inside_its_training_continues_at_its_next_epoch(
    dataset, tmp_path, stop_training_after
) -> None:
    from hepbench import challenges

    plan = make_test_plan(1, 2, initial_seed=4)
    nn = challenges.get("higgs-uncertainty").baseline("nn-focal-template-fit")

    def run(checkpoint: RunCheckpoint | None = None) -> dict:
        estimator = nn.factory("tiny", "cpu", 3)
        return run_estimator(
            "nn", estimator, dataset, plan, device="cpu", progress=False, n_bootstrap=0, checkpoint=checkpoint
        )

    whole = run()
    folder = tmp_path / "run"
    stop_training_after(1)  # after the first of the tiny network's 3 epochs
    with pytest.raises(stop_training_after.error):
        run(RunCheckpoint(folder, IDENTITY))
    assert [p.name for p in (folder / "training").iterdir()] == ["01-training.pt"]
    assert not (folder / "estimator.pkl").exists()
    resumed = run(RunCheckpoint(folder, IDENTITY, resume=True))
    assert _answers(resumed) == _answers(whole)
    assert resumed["metrics"] == whole["metrics"]
    assert resumed["train_seconds"] > 0
