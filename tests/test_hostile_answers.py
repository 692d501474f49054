"""Answers and outputs built to crash or fool the scorer end in one clear line naming the file
and the field, a non-zero exit and nothing left running (the malicious participant's report)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.answers import MAX_ANSWERS_BYTES, join_answers, read_answers
from hepbench.challenges.higgs_uncertainty.harness import score_results
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.outputs import OutputError
from hepbench.cli.main import app
from hepbench.leaderboard.pages import spreadsheet_safe
from hepbench.leaderboard.plots import intervals_vs_truth
from hepbench.output import printable

runner = CliRunner()
PLAN = make_test_plan(2, 2, initial_seed=3)


def _answers(**changes) -> pd.DataFrame:
    t = PLAN.table
    frame = pd.DataFrame(
        {
            "set_index": t["set_index"],
            "pe_index": t["pe_index"],
            "mu_hat": t["mu_true"],
            "delta_mu_hat": 0.2,
            "p16": t["mu_true"] - 0.2,
            "p84": t["mu_true"] + 0.2,
        }
    )
    return frame.assign(**changes)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deep"),
        ("digits.json", json.dumps([{"set_index": 0, "pe_index": 0}]).replace("0}", "9" * 5000 + "}"), "digits"),
        ("text-key.csv", "set_index,pe_index,mu_hat,delta_mu_hat,p16,p84\nabc,0,1,0.1,0.9,1.1\n", "set_index = 'abc'"),
        ("comment.csv", "# made by hand\nset_index,pe_index,mu_hat,delta_mu_hat,p16,p84\n", "line 1 is a comment"),
        ("rows.json", json.dumps({"answers": [1, 2, 3]}), "a list of objects"),
    ],
)
def test_malformed_answers_name_the_file_and_field(tmp_path, name, content, message) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        read_answers(path)
    assert name in str(err.value)
    (tmp_path / "plan.json").write_text("{}")
    PLAN.to_json(tmp_path / "plan.json")
    result = runner.invoke(app, ["score", "higgs-uncertainty", str(path), str(tmp_path / "plan.json")])
    assert result.exit_code == 1 and name in result.output and "Traceback" not in result.output


def test_an_oversized_answers_file_is_refused_before_it_is_read(tmp_path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_ANSWERS_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ValueError, match="huge.csv: 16,777,217 bytes"):
        read_answers(path)


def test_integer_answers_are_scored_and_failures_cast(tmp_path) -> None:
    """All-integer answer columns used to break the failure replacement (int64 column)."""
    path = tmp_path / "ints.csv"
    _answers(mu_hat=1, delta_mu_hat=1, p16=0, p84=2).to_csv(path, index=False)
    path.write_text(path.read_text().rstrip("\n").rsplit("\n", 1)[0] + "\n1,1,1,1,0,x\n")
    rows = join_answers(PLAN, read_answers(path))
    assert list(rows["status"]) == ["ok", "ok", "ok", "failed"] and "'x' is not a number" in rows["message"][3]
    metrics = score_results(rows, n_bootstrap=0)
    assert metrics["n_failed"] == 1 and np.isfinite(metrics["coverage_score"])


def test_calo_showers_far_above_their_incident_energy_are_refused(tmp_path) -> None:
    calo = challenges.get("calo")
    inputs, organiser, outputs = tmp_path / "input", tmp_path / "organiser", tmp_path / "output"
    calo.write_inputs(inputs, organiser, preset="tiny", seed=0)
    meta = json.loads((inputs / "metadata.json").read_text())
    showers = np.zeros((meta["n_generate"], meta["n_voxels"]), dtype=np.float32)
    showers[4, 7] = 3.4e38
    outputs.mkdir()
    np.save(outputs / "showers.npy", showers)
    with pytest.raises(
        OutputError,
        match=r"showers.npy: 1 shower\(s\) with a voxel above 10 times the incident energy, first row 4 \(voxel 7",
    ):
        calo.read_outputs(outputs, organiser)


def test_spreadsheet_formulas_and_terminal_escapes_are_neutralised() -> None:
    assert spreadsheet_safe('=HYPERLINK("http://x","y")').startswith("'=")
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)" and spreadsheet_safe("alice") == "alice"
    forged = "\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2Jstatus: ok\nnext line\tend"
    clean = printable(forged)
    assert "\x1b" not in clean and "\x07" not in clean and "next line\tend" in clean


def test_a_method_name_with_mathtext_still_plots() -> None:
    rows = PLAN.table.assign(mu_hat=1.0, delta_mu_hat=0.1, p16=0.9, p84=1.1, status="ok")
    assert intervals_vs_truth(rows, "$\\foo{$ (mallory)").startswith(b"\x89PNG")


@pytest.mark.parametrize("backend", ["bubblewrap", "docker"])
def test_a_sparse_giant_in_a_code_folder_is_refused_unread(request, backend, tmp_path) -> None:
    """A 3 GiB sparse file: refused from its size alone, with a record that says so."""
    import resource

    from hepbench.submission_kit.runner import Payload, run_submission
    from hepbench.submission_kit.sandbox.limits import Limits

    code = tmp_path / "code"
    code.mkdir()
    (code / "model.py").write_text("class Model:\n    pass\n")
    with open(code / "weights.bin", "wb") as handle:
        handle.truncate(3 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record = run_submission(
        "lhco",
        request.getfixturevalue("bwrap_backend" if backend == "bubblewrap" else "docker_backend"),
        Payload("code", code_dir=code),
        run_dir=tmp_path / "run",
        limits=Limits(wall_seconds=30),
        input_options={"preset": "tiny"},
    )
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert record["status"] == "refused" and "more than 64 MiB of code" in record["reason"]
    assert json.loads((tmp_path / "run" / "record.json").read_text())["status"] == "refused"
    assert grown_mib < 200, f"the organiser's process grew by {grown_mib:.0f} MiB"


def test_outputs_that_crash_the_scorer_end_in_a_recorded_state(tmp_path, monkeypatch) -> None:
    """Whatever the checks let through and the scorer cannot take ends the record with a one-line
    reason; so does a failure to prepare the inputs. Nothing stays running."""
    from hepbench.submission_kit.runner import Payload, run_submission
    from hepbench.submission_kit.sandbox.backend import Backend
    from hepbench.submission_kit.sandbox.limits import Limits
    from hepbench.submission_kit.sandbox.result import RunOutcome

    class Finished(Backend):
        name = "finished"

        def sandbox_ids(self):
            return os.getuid(), os.getgid()

        def _execute(self, command, **_):
            return RunOutcome(status="ok", reason="exited with status 0", backend=self.name, exit_code=0)

    spec = challenges.get("lhco")

    def crash(*_args, **_kwargs):
        raise TypeError("Invalid value '1.55' for dtype 'int64'")

    monkeypatch.setattr(type(spec), "read_outputs", lambda self, *a, **k: {})
    monkeypatch.setattr(type(spec), "describe_outputs", lambda self, outputs: "checked")
    monkeypatch.setattr(type(spec), "score", crash)
    (tmp_path / "input").mkdir()
    record = run_submission(
        "lhco",
        Finished(),
        Payload("image", image="sha256:feed"),
        run_dir=tmp_path / "run",
        limits=Limits(wall_seconds=5),
        input_dir=tmp_path / "input",
        organiser_dir=tmp_path,
    )
    assert record["status"] == "invalid-output" and "could not be scored (TypeError" in record["reason"]
    assert json.loads((tmp_path / "run" / "record.json").read_text())["status"] == "invalid-output"
    monkeypatch.setattr(type(spec), "write_inputs", crash)
    record = run_submission(
        "lhco", Finished(), Payload("image", image="sha256:feed"), run_dir=tmp_path / "run2", limits=Limits()
    )
    assert record["status"] == "sandbox-error" and record["reason"].startswith("preparing the run: TypeError")
