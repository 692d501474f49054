"""Identities: one per name however it is typed, tokens kept hashed, limits per identity."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.cli.main import app
from hepbench.leaderboard.identities import AuthenticationError, add_identity, authenticate, identity_key, revoke
from hepbench.leaderboard.submissions import SubmissionLimitError, configure_phase, submit, sync_challenges

runner = CliRunner()


def test_one_key_for_every_spelling_of_a_name() -> None:
    assert identity_key("Mallory") == identity_key("mallory\u200b") == identity_key("ＭＡＬＬＯＲＹ") == "mallory"
    assert identity_key("  Alice \t Smith ") == "alice smith"
    assert identity_key("\u200b\u2060") == ""


@pytest.fixture
def phase(store, tmp_path):
    sync_challenges(store)
    plan = make_test_plan(1, 2, initial_seed=7)
    plan.to_json(tmp_path / "plan.json")
    configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json", max_total=2)

    def answers(width: float):
        t = plan.table
        path = tmp_path / f"answers-{width}.csv"
        pd.DataFrame(
            {
                "set_index": t["set_index"],
                "pe_index": t["pe_index"],
                "mu_hat": t["mu_true"],
                "delta_mu_hat": width,
                "p16": t["mu_true"] - width,
                "p84": t["mu_true"] + width,
            }
        ).to_csv(path, index=False)
        return path

    return answers


def test_tokens_authenticate_until_revoked(store, phase) -> None:
    identity, token = add_identity(store, "Mallory", email="m@example.org")
    with pytest.raises(ValueError, match="already registered as 'Mallory'"):
        add_identity(store, "mallory\u200b")
    assert authenticate(store, token).name == "Mallory"
    with pytest.raises(AuthenticationError, match="unknown token"):
        authenticate(store, token + "x")
    assert submit(store, "higgs-uncertainty", "public", "", "fit", phase(0.1), token=token).created
    # A registered name cannot submit without its token, however it is typed.
    with pytest.raises(AuthenticationError, match="registered participant"):
        submit(store, "higgs-uncertainty", "public", "MALLORY\u200b", "fit", phase(0.2))
    revoke(store, "mallory")
    with pytest.raises(AuthenticationError, match="revoked"):
        submit(store, "higgs-uncertainty", "public", "", "fit", phase(0.3), token=token)


def test_limits_count_per_identity_not_per_spelling(store, phase) -> None:
    submit(store, "higgs-uncertainty", "public", "Bob", "a", phase(0.1))
    submit(store, "higgs-uncertainty", "public", "bob\u200b", "b", phase(0.2))
    with pytest.raises(SubmissionLimitError, match="limit is 2 in total"):
        submit(store, "higgs-uncertainty", "public", "ＢＯＢ", "c", phase(0.3))
    submit(store, "higgs-uncertainty", "public", "alice", "a", phase(0.3))


def test_command_line_prints_the_token_once_and_submits_with_it(store, phase, tmp_path) -> None:
    at = ["--home", str(tmp_path / "lb"), "--db", store.engine.url.render_as_string(hide_password=False)]
    added = runner.invoke(app, ["leaderboard", "participant", "add", "Carol", "--email", "c@example.org", *at])
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    listed = runner.invoke(app, ["leaderboard", "participant", "list", *at])
    assert "Carol" in listed.output and token not in listed.output
    sent = runner.invoke(
        app,
        ["leaderboard", "submit", "higgs-uncertainty", str(phase(0.1)), "--method", "fit", *at],
        env={"HEPBENCH_TOKEN": token},
    )
    assert sent.exit_code == 0 and "queued" in sent.output, sent.output
    assert runner.invoke(app, ["leaderboard", "participant", "revoke", "carol", *at]).exit_code == 0
    refused = runner.invoke(
        app, ["leaderboard", "submit", "higgs-uncertainty", str(phase(0.2)), "--method", "fit", "--token", token, *at]
    )
    assert refused.exit_code == 1 and "revoked" in refused.output
