"""Run a signal-strength estimator over a test plan and score its answers.

The harness draws each pseudo-experiment of the plan, hands the estimator the features only,
checks the answer (``protocol.validate_answer``) and records it with the host-measured time.
A failed pseudo-experiment keeps its row with the reason; it is scored as the least
informative answer (an interval reversed over the whole prior range, or wider: never covered,
as wide as the submission's widest interval and at least the prior range), so failing is
never cheaper than answering.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ...parallel import map_tasks
from ...scoring.intervals import bootstrap_over_sets, interval_metrics
from .protocol import ANSWER_KEYS, AnswerError, validate_answer
from .pseudo_experiments import MU_RANGE, PseudoExperimentSampler, TestPlan


class Estimator(Protocol):
    def predict(self, data: pd.DataFrame) -> Any: ...


def _failed_answer(widest: float = 0.0) -> dict[str, float]:
    """The answer a failed pseudo-experiment is scored as: an interval reversed (never covered)
    about the prior's centre, as wide as the submission's widest interval and at least the
    prior range (SPEC 1), so that failing is never cheaper than answering."""
    low, high = MU_RANGE
    centre = 0.5 * (low + high)
    if widest <= high - low:
        return {"mu_hat": centre, "delta_mu_hat": 0.5 * (high - low), "p16": high, "p84": low}
    half = 0.5 * widest
    return {"mu_hat": centre, "delta_mu_hat": half, "p16": centre + half, "p84": centre - half}


def _evaluate_pseudo_experiment(
    estimator: Estimator, sampler: PseudoExperimentSampler, plan: TestPlan, set_index: int, pe_index: int
) -> dict[str, Any]:
    spec = plan.row(set_index, pe_index)
    data = plan.draw(sampler, set_index, pe_index)
    row: dict[str, Any] = {
        "set_index": set_index,
        "pe_index": pe_index,
        "seed": int(spec["seed"]),
        "mu_true": float(spec["mu_true"]),
        "n_events": len(data),
    }
    start = time.perf_counter()
    try:
        answer = validate_answer(estimator.predict(data))
        row.update(answer, status="ok", message="")
    except AnswerError as err:
        row.update({k: np.nan for k in ANSWER_KEYS}, status="failed", message=str(err))
    except Exception as err:  # noqa: BLE001 - a crashing submission fails its pseudo-experiment, not the run
        row.update({k: np.nan for k in ANSWER_KEYS}, status="failed", message=f"{type(err).__name__}: {err}")
    row["predict_seconds"] = time.perf_counter() - start
    return row


def _evaluate_chunk(
    pseudo_experiments: tuple[tuple[int, int], ...],
    *,
    estimator: Estimator,
    sampler: PseudoExperimentSampler,
    plan: TestPlan,
) -> list[dict[str, Any]]:
    return [_evaluate_pseudo_experiment(estimator, sampler, plan, s, p) for s, p in pseudo_experiments]


def evaluate_plan(
    estimator: Estimator,
    test_set: pd.DataFrame,
    plan: TestPlan,
    *,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    client: Any = None,
    chunks_per_worker: int = 4,
    max_chunk: int = 16,
    done: Sequence[Mapping[str, Any]] = (),
) -> pd.DataFrame:
    """Evaluate ``estimator`` on every pseudo-experiment of ``plan``.

    Returns one row per pseudo-experiment, in plan order: ``set_index``, ``pe_index``,
    ``seed``, ``mu_true``, ``n_events``, the four answer keys, ``status`` (``ok`` /
    ``failed``), ``message`` and ``predict_seconds`` (wall time of the estimator's
    ``predict``, measured by the harness).

    ``client`` (a ``distributed.Client``, see ``hepbench.parallel.dask_client``) spreads the
    pseudo-experiments over its workers in ``chunks_per_worker`` chunks per worker, each of at
    most ``max_chunk`` (so that ``on_result`` hears of answers while a long plan runs); each
    pseudo-experiment is drawn from its own seed, so the answers are those of the serial run.
    ``on_result`` is called with each row as soon as it exists (to persist progress).
    ``done`` holds rows of this plan already evaluated (a resumed run): they are kept, not redone.
    """
    kept = {(int(r["set_index"]), int(r["pe_index"])): dict(r) for r in done}
    order = [(int(s), int(p)) for s, p in zip(plan.table["set_index"], plan.table["pe_index"])]
    unknown = sorted(set(kept) - set(order))
    if unknown:
        raise ValueError(f"rows to keep are not in the test plan: (set, pseudo-experiment) {unknown[:3]}")
    pairs = [pair for pair in order if pair not in kept]
    if client is None:
        tasks = [((pair,),) for pair in pairs]
    else:
        n_chunks = max(1, min(len(pairs), chunks_per_worker * max(1, len(client.scheduler_info()["workers"]))))
        size = min(max_chunk, -(-len(pairs) // n_chunks)) if pairs else 1
        tasks = [(tuple(pairs[i : i + size]),) for i in range(0, len(pairs), size)]

    def report(_: int, rows: list[dict[str, Any]]) -> None:
        if on_result is not None:
            for row in rows:
                on_result(row)

    chunks = map_tasks(
        _evaluate_chunk,
        tasks,
        client=client,
        progress=progress,
        description="pseudo-experiments",
        shared={"estimator": estimator, "sampler": PseudoExperimentSampler(test_set), "plan": plan},
        on_result=report,
    )
    for chunk in chunks:
        kept.update({(row["set_index"], row["pe_index"]): row for row in chunk})
    return pd.DataFrame([kept[pair] for pair in order])


def scored_answers(results: pd.DataFrame) -> pd.DataFrame:
    """The answers as scored: failed pseudo-experiments replaced by the least informative one."""
    scored = results.copy()
    failed = scored["status"] != "ok"
    answered = scored.loc[~failed]
    widths = (answered["p84"] - answered["p16"]).abs().to_numpy(np.float64) if len(answered) else np.zeros(0)
    widest = float(np.max(widths[np.isfinite(widths)], initial=0.0))
    for key, value in _failed_answer(widest).items():
        scored.loc[failed, key] = value
    return scored


def score_results(results: pd.DataFrame, *, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Coverage score, width, coverage, RMSE, MAE and their bootstrap over sets."""
    scored = scored_answers(results)
    arrays = {k: scored[k].to_numpy(np.float64) for k in ("mu_true", *ANSWER_KEYS)}
    out: dict[str, Any] = interval_metrics(**arrays)
    out["n_failed"] = int((results["status"] != "ok").sum())
    if n_bootstrap > 0 and results["set_index"].nunique() > 1:
        out["bootstrap"] = bootstrap_over_sets(
            **arrays, set_index=scored["set_index"].to_numpy(), n_replicas=n_bootstrap, seed=seed
        )
    return out
