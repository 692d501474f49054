"""Dask execution: the same numbers as the serial run, on a real LocalCluster of worker processes."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from distributed import LocalCluster

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.harness import evaluate_plan, score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.parallel import check_scheduler, dask_client, map_tasks

pytestmark = pytest.mark.slow  # minutes in all: the full suite runs it, `-m "not slow"` skips it

ANSWER_COLUMNS = [
    "set_index",
    "pe_index",
    "seed",
    "mu_true",
    "n_events",
    "mu_hat",
    "delta_mu_hat",
    "p16",
    "p84",
    "status",
    "message",
]


def worker_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


@pytest.fixture(scope="module")
def fitted_bdt(higgs_tiny):
    return (
        challenges.get("higgs-uncertainty").baseline("bdt-template-fit").factory("tiny", "cpu", 0).fit(higgs_tiny.train)
    )


def test_plan_on_local_cluster_matches_serial(fitted_bdt, higgs_tiny) -> None:
    plan = make_test_plan(3, 4, initial_seed=21)
    serial = evaluate_plan(fitted_bdt, higgs_tiny.test, plan, progress=False)
    seen = []
    with dask_client("local", n_workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        parallel = evaluate_plan(
            fitted_bdt, higgs_tiny.test, plan, progress=False, client=client, on_result=seen.append
        )
    pd.testing.assert_frame_equal(serial[ANSWER_COLUMNS], parallel[ANSWER_COLUMNS])
    assert (serial["status"] == "ok").all()
    assert sorted((r["set_index"], r["pe_index"]) for r in seen) == list(zip(serial["set_index"], serial["pe_index"]))
    assert score_results(serial, n_bootstrap=50) == score_results(parallel, n_bootstrap=50)


def test_map_tasks_runs_on_several_worker_processes_in_task_order() -> None:
    tasks = [(k,) for k in range(12)]
    finished = []
    with dask_client("local", n_workers=2) as client:
        results = map_tasks(worker_pid, tasks, client=client, on_result=lambda i, r: finished.append(i))
    assert [r[0] for r in results] == [k * k for k in range(12)]
    assert os.getpid() not in {r[1] for r in results}
    assert sorted(finished) == list(range(12))
    assert map_tasks(worker_pid, tasks)[3] == (9, os.getpid())


def fails_on_three(value: int) -> int:
    if value == 3:
        raise ValueError("inputs.labelled has no particle columns")
    return value


def test_a_failing_task_is_one_line_not_a_worker_traceback(capfd) -> None:
    with dask_client("local", n_workers=2) as client, pytest.raises(ValueError, match="no particle columns"):
        map_tasks(fails_on_three, [(k,) for k in range(6)], client=client)
    out, err = capfd.readouterr()
    # The workers share this process's stderr: their log records of the failure stay silent.
    assert "Traceback" not in out + err and "Compute Failed" not in out + err, err


def test_scheduler_address_and_file(tmp_path) -> None:
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:  # noqa: SIM117
        with dask_client(cluster.scheduler_address) as client:
            assert map_tasks(worker_pid, [(3,)], client=client)[0][0] == 9
    with pytest.raises(FileNotFoundError, match="scheduler file not found"):  # noqa: SIM117
        with dask_client(str(tmp_path / "scheduler.json")):
            pass


def test_unknown_scheduler_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'threads'"):
        check_scheduler("threads")
    with pytest.raises(ValueError, match="at least one worker"), dask_client("local", n_workers=-1):
        pass
