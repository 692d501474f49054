"""A participant reads our source: no seed they can see gives a phase's truth away.

Each attack replays every seed a participant can know (the package's defaults, the preset's
seed, the shuffles of earlier versions) against the inputs of a submission run and must score
at chance level; the same attack against inputs written from a public seed shows it would work.
"""

from __future__ import annotations

import json
import stat

import numpy as np
import pandas as pd
import pytest

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.harness import score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import TestPlan, make_test_plan
from hepbench.challenges.lhco.dataset import generate_dataset
from hepbench.challenges.lhco.schema import COLUMNS, LABEL
from hepbench.challenges.secrets import SECRETS_FILE, read_secrets
from hepbench.scoring.anomaly import roc_auc

PUBLIC_SEEDS = (0, 1, 2, 5, 42)
pytestmark = pytest.mark.slow  # regenerates every data set from each public seed


def _lhco_replay(test_rows: np.ndarray, seeds=PUBLIC_SEEDS) -> np.ndarray:
    """Score each input test row by the label of the identical row in data regenerated from a
    public seed (1 signal, 0 background, 0.5 when no regenerated row matches)."""
    known: dict[bytes, int] = {}
    for seed in seeds:
        test = generate_dataset("tiny", seed).test
        for row, label in zip(test[list(COLUMNS)].to_numpy(np.float32), test[LABEL].to_numpy()):
            known[row.tobytes()] = int(label)
    return np.array([known.get(row.tobytes(), 0.5) for row in test_rows], dtype=float)


def _lhco_row_order_replay(n: int, seeds=PUBLIC_SEEDS) -> list[np.ndarray]:
    """Undo the shuffles an earlier version applied to the class-ordered test set."""
    guesses = []
    for seed in seeds:
        labels = generate_dataset("tiny", seed).test[LABEL].to_numpy()
        if len(labels) != n:
            continue
        order = np.random.default_rng([seed, 0x7465]).permutation(n)
        guesses.append(labels[order].astype(float))
    return guesses


def test_lhco_test_labels_cannot_be_replayed_from_public_seeds(tmp_path) -> None:
    lhco = challenges.get("lhco")
    inputs, organiser = tmp_path / "input", tmp_path / "organiser"
    lhco.write_inputs(inputs, organiser, preset="tiny")
    labels = np.load(organiser / "truth.npz")["test_labels"]
    test_rows = np.load(inputs / "test.npy")
    assert abs(roc_auc(labels, _lhco_replay(test_rows)) - 0.5) < 0.05
    for guess in _lhco_row_order_replay(len(labels)):
        assert abs(roc_auc(labels, guess) - 0.5) < 0.05
    # The same attack on inputs written from a public seed finds every label.
    public_in, public_org = tmp_path / "public-input", tmp_path / "public-organiser"
    lhco.write_inputs(public_in, public_org, preset="tiny", seed=0)
    public_labels = np.load(public_org / "truth.npz")["test_labels"]
    assert roc_auc(public_labels, _lhco_replay(np.load(public_in / "test.npy"), seeds=(0,))) > 0.99


def test_higgs_true_signal_strengths_cannot_be_replayed_from_public_seeds(tmp_path, higgs_tiny_dir) -> None:
    higgs = challenges.get("higgs-uncertainty")
    # The true mu values come from the plan seed alone, so one data folder serves both phases.
    options = {"n_sets": 4, "n_pseudo_experiments": 2, "train_events": 2_000, "data_dir": higgs_tiny_dir}

    def replay_score(organiser) -> float:
        plan = TestPlan.from_json(organiser / "plan.json")
        rows = []
        for guess_seed in PUBLIC_SEEDS:
            guess = make_test_plan(plan.n_sets, plan.n_pseudo_experiments, initial_seed=guess_seed).table
            rows.append(
                guess.assign(
                    mu_hat=guess["mu_true"], delta_mu_hat=1e-9, p16=guess["mu_true"] - 1e-9, p84=guess["mu_true"] + 1e-9
                )
            )
        best = -np.inf
        for guess in rows:
            answers = plan.table[["set_index", "pe_index", "mu_true"]].merge(
                guess[["set_index", "pe_index", "mu_hat", "delta_mu_hat", "p16", "p84"]], on=["set_index", "pe_index"]
            )
            answers["status"] = "ok"
            best = max(best, score_results(answers, n_bootstrap=0)["coverage"])
        return best

    secret = tmp_path / "organiser"
    higgs.write_inputs(tmp_path / "input", secret, **options)
    assert replay_score(secret) == 0.0  # an interval 2e-9 wide covers a wrong mu by chance once in ~1e9
    public = tmp_path / "public-organiser"
    higgs.write_inputs(tmp_path / "public-input", public, **options, plan_seed=0)
    assert replay_score(public) == 1.0


@pytest.mark.parametrize("challenge", challenges.ids()[:3])
def test_secrets_stay_with_the_organiser(challenge, tmp_path) -> None:
    spec = challenges.get(challenge)
    inputs, organiser = tmp_path / "input", tmp_path / "organiser"
    summary = spec.write_inputs(inputs, organiser, **spec.validate_options)
    secrets = read_secrets(organiser)
    assert secrets and all(isinstance(v, int) and v >= 0 for v in secrets.values())
    assert stat.S_IMODE((organiser / SECRETS_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(organiser.stat().st_mode) == 0o700
    public_text = json.dumps(summary) + "".join(p.read_text() for p in inputs.rglob("*.json"))
    for value in secrets.values():
        assert str(value) not in public_text, f"a secret seed of {challenge} reached the public inputs"
    # Two runs draw different secrets.
    spec.write_inputs(tmp_path / "input2", tmp_path / "organiser2", **spec.validate_options)
    assert read_secrets(tmp_path / "organiser2") != secrets


def test_a_failed_pseudo_experiment_counts_as_the_widest_interval() -> None:
    """SPEC 1: a failure is never covered and counts in the width as the submission's widest
    interval, at least the prior range, so a NaN never improves a score."""
    rows = pd.DataFrame({"set_index": [0, 0, 1, 1], "pe_index": [0, 1, 0, 1], "mu_true": [1.0, 1.0, 2.0, 2.0]})
    wide = rows.assign(
        mu_hat=rows["mu_true"], delta_mu_hat=2.5, p16=rows["mu_true"] - 2.5, p84=rows["mu_true"] + 2.5, status="ok"
    )
    failed = wide.copy()
    failed.loc[3, ["mu_hat", "delta_mu_hat", "p16", "p84"]] = np.nan
    failed.loc[3, "status"] = "failed"
    honest, nan = score_results(wide, n_bootstrap=0), score_results(failed, n_bootstrap=0)
    assert nan["width"] == pytest.approx(5.0) and nan["coverage"] == 0.75
    assert nan["coverage_score"] <= honest["coverage_score"]
    narrow = wide.assign(p16=wide["mu_true"] - 0.5, p84=wide["mu_true"] + 0.5)
    narrow.loc[3, "status"] = "failed"
    assert score_results(narrow, n_bootstrap=0)["width"] == pytest.approx((3 * 1.0 + 2.9) / 4)


def test_calo_held_out_showers_cannot_be_regenerated_from_public_seeds(tmp_path) -> None:
    """The reference simulator is public by design (an independent sample scores as well as it
    can); what must stay secret is the exact held-out sample, which a copy would match perfectly."""
    import json as _json

    from hepbench.challenges.calo.dataset import generate_dataset as generate_showers
    from hepbench.challenges.calo.dataset import load_split

    calo = challenges.get("calo")

    def held_out(organiser) -> np.ndarray:
        info = _json.loads((organiser / "reference.json").read_text())
        return load_split(info["data_dir"], info["geometry"], "test").showers

    def copies(reference: np.ndarray) -> int:
        rows = {row.tobytes() for row in reference.astype(np.float32)}
        found = 0
        for seed in PUBLIC_SEEDS:
            out = tmp_path / f"replay-{seed}"
            generate_showers("tiny", seed, out)
            found += sum(
                row.tobytes() in rows for row in load_split(out, "ds1-photons", "test").showers.astype(np.float32)
            )
        return found

    calo.write_inputs(tmp_path / "input", tmp_path / "organiser", preset="tiny")
    assert copies(held_out(tmp_path / "organiser")) == 0
    calo.write_inputs(tmp_path / "public-input", tmp_path / "public-organiser", preset="tiny", seed=0)
    assert copies(held_out(tmp_path / "public-organiser")) == len(held_out(tmp_path / "public-organiser"))
