"""The command line: help texts, JSON output, and clear errors on bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.cli.main import app

runner = CliRunner()

SUBCOMMANDS = [
    [],
    ["challenges"],
    ["data"],
    ["data", "generate"],
    ["data", "validate"],
    ["baseline"],
    ["baseline", "list"],
    ["baseline", "run"],
    ["score"],
    ["demo"],
]


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "root")
def test_every_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if args and args[-1] in ("generate", "run", "demo", "score", "validate"):
        assert "--json" in result.output


def test_challenges_json(tmp_path) -> None:
    out = tmp_path / "c.json"
    result = runner.invoke(app, ["challenges", "--json", str(out)])
    assert result.exit_code == 0, result.output
    ids = [c["id"] for c in json.loads(out.read_text())]
    assert "higgs-uncertainty" in ids


def test_baseline_list_names_the_template_fit(tmp_path) -> None:
    out = tmp_path / "b.json"
    result = runner.invoke(app, ["baseline", "list", "higgs-uncertainty", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert {"bdt-template-fit"} <= {b["method"] for b in json.loads(out.read_text())}


def test_unknown_challenge_is_a_clear_error() -> None:
    result = runner.invoke(app, ["baseline", "list", "no-such-challenge"])
    assert result.exit_code == 1
    assert "unknown challenge 'no-such-challenge'" in result.output


@pytest.fixture()
def plan_file(tmp_path):
    plan = make_test_plan(2, 3, initial_seed=4)
    path = tmp_path / "plan.json"
    plan.to_json(path)
    return plan, path


def answers_for(plan, width: float = 0.4) -> pd.DataFrame:
    t = plan.table
    return pd.DataFrame(
        {
            "set_index": t["set_index"],
            "pe_index": t["pe_index"],
            "mu_hat": t["mu_true"],
            "delta_mu_hat": width / 2,
            "p16": t["mu_true"] - width / 2,
            "p84": t["mu_true"] + width / 2,
        }
    )


def test_score_good_answers(tmp_path, plan_file) -> None:
    plan, path = plan_file
    answers = tmp_path / "answers.csv"
    answers_for(plan).to_csv(answers, index=False)
    out = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=50", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["coverage"] == 1.0 and metrics["width"] == pytest.approx(0.4)


def test_score_missing_column_names_file_and_field(tmp_path, plan_file) -> None:
    plan, path = plan_file
    answers = tmp_path / "bad.csv"
    answers_for(plan).drop(columns="p84").to_csv(answers, index=False)
    result = runner.invoke(app, ["score", "higgs-uncertainty", str(answers), str(path)])
    assert result.exit_code == 1
    assert "bad.csv" in result.output and "p84" in result.output


def test_score_nan_and_missing_rows_fail_those_pseudo_experiments(tmp_path, plan_file) -> None:
    plan, path = plan_file
    frame = answers_for(plan)
    frame.loc[0, "mu_hat"] = float("nan")
    frame = frame.drop(index=5)
    answers = tmp_path / "partial.csv"
    frame.to_csv(answers, index=False)
    out = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=0", "--json", str(out)]
    )
    assert result.exit_code == 3
    assert "mu_hat" in result.output and "no answer" in result.output
    payload = json.loads(out.read_text())
    assert payload["metrics"]["n_failed"] == 2
    assert payload["metrics"]["coverage"] == pytest.approx(4 / 6)


def test_one_record_type_from_sandbox_answers_to_the_leaderboard(tmp_path, plan_file) -> None:
    """The sandbox's answers.json ({"answers": [...]}) and its organiser folder score with
    `hepbench score`; the score's JSON is a run record the leaderboard reads back."""
    from hepbench.records import RECORD_VERSION, load_records

    plan, path = plan_file
    outputs, organiser = tmp_path / "output", tmp_path / "organiser"
    outputs.mkdir()
    organiser.mkdir()
    (organiser / "plan.json").write_text(path.read_text())
    rows = answers_for(plan).to_dict(orient="records")
    (outputs / "answers.json").write_text(json.dumps({"answers": rows}))
    out = tmp_path / "score.json"
    result = runner.invoke(
        app, ["score", "higgs-uncertainty", str(outputs), str(organiser), "-o", "n_bootstrap=20", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["record_version"] == RECORD_VERSION and record["metrics"]["coverage"] == 1.0
    assert len(record["pseudo_experiments"]) == len(plan.table)
    (loaded,) = load_records(out)
    assert loaded["metrics"]["width"] == pytest.approx(0.4)
    # The same answers as a file, against the plan file, give the same numbers.
    (tmp_path / "answers.json").write_text(json.dumps(rows))
    again = tmp_path / "again.json"
    assert (
        runner.invoke(
            app,
            [
                "score",
                "higgs-uncertainty",
                str(tmp_path / "answers.json"),
                str(path),
                "-o",
                "n_bootstrap=20",
                "--json",
                str(again),
            ],
        ).exit_code
        == 0
    )
    assert json.loads(again.read_text())["metrics"]["coverage_score"] == record["metrics"]["coverage_score"]


def test_a_newer_record_version_is_refused_with_the_field_named(tmp_path) -> None:
    from hepbench.records import RECORD_VERSION, RecordError, load_records

    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "record_version": RECORD_VERSION + 1,
                "challenge": "lhco",
                "method": "m",
                "metrics": {"max_sic": 1.0, "auc": 0.5},
            }
        )
    )
    with pytest.raises(RecordError, match=r"r.json: field record_version is 2"):
        load_records(path)


def test_an_unexpected_error_is_one_line_and_hepbench_debug_shows_where(tmp_path, monkeypatch) -> None:
    from hepbench import challenges

    def broken(self, outputs, truth, **options):
        raise TypeError("list indices must be integers or slices, not str")

    monkeypatch.setattr(type(challenges.get("lhco")), "score", broken)
    args = ["score", "lhco", str(tmp_path / "answer.json"), str(tmp_path / "truth")]
    result = runner.invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(lines) == 1 and "TypeError: list indices" in lines[0] and "HEPBENCH_DEBUG=1" in lines[0]
    monkeypatch.setenv("HEPBENCH_DEBUG", "1")
    assert isinstance(runner.invoke(app, args).exception, TypeError)


def test_an_hdf5_library_trace_is_reduced_to_its_reason() -> None:
    from hepbench.cli.apps import _one_line

    trace = OSError(
        'HDF5 error back trace\n\n  File "H5F.c", line 827, in H5Fopen\n    unable to open file\n\n'
        "End of HDF5 error back trace\n\nUnable to open/create file 'rand.hdf5'"
    )
    assert _one_line(trace) == "Unable to open/create file 'rand.hdf5'"
    assert _one_line(ValueError("a.csv: column 'mu_hat'\n  missing")) == "a.csv: column 'mu_hat' missing"


def test_bad_score_options_and_plans_are_named_before_any_work(tmp_path, plan_file) -> None:
    plan, path = plan_file
    answers = tmp_path / "answers.csv"
    answers_for(plan).to_csv(answers, index=False)
    listed = tmp_path / "listed.json"
    listed.write_text("[]")
    (tmp_path / "plots").write_text("a file")
    cases = {
        ("higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=abc"): "option n_bootstrap: a whole number",
        ("higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=-1"): "option n_bootstrap: a whole number",
        ("higgs-uncertainty", str(answers), str(path), "-o", "n_bootstrap=10000000000"): "from 0 to 100,000",
        ("higgs-uncertainty", str(answers), str(listed)): "listed.json: not a test plan",
        ("calo", "gen.hdf5", "ref.hdf5", "-o", "classifier=5"): "option classifier: one of ['full', 'small', 'tiny']",
        ("calo", "gen.hdf5", "ref.hdf5", "-o", "n_runs=0"): "option n_runs: a whole number of at least 1",
        ("calo", "gen.hdf5", "ref.hdf5", "-o", f"plots={tmp_path / 'plots'}"): "plots go into a folder",
    }
    for args, message in cases.items():
        result = runner.invoke(app, ["score", *args])
        assert result.exit_code == 1 and message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output and "unexpected" not in result.output, result.output


def test_output_paths_are_checked_before_any_work(tmp_path) -> None:
    """A --json that is a folder, or an --out that is a file, fails at once (not after a training)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    cases = [
        (["challenges", "--json", str(tmp_path)], "is a folder"),
        (["challenges", "--json", str(a_file / "x.json")], "is a file, not a folder"),
        (["baseline", "run", "calo", "calo-flow", "--preset", "tiny", "--out", str(a_file)], "is a file"),
        (["data", "generate", "lhco", "--preset", "tiny", "--out", str(a_file)], "is a file"),
        (["data", "export", "higgs-uncertainty", "--preset", "tiny", "--unbinned", str(a_file)], "is a file"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code != 0, args
        assert message in " ".join(result.output.replace("│", " ").split()), (args, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing generated
    result = runner.invoke(app, ["challenges", "--json", str(tmp_path / "new" / "x.json")])
    assert result.exit_code == 0 and json.loads((tmp_path / "new" / "x.json").read_text())
    result = runner.invoke(app, ["challenges", "--json", str(a_file)])  # an existing file is replaced
    assert result.exit_code == 0 and json.loads(a_file.read_text())


def test_a_folder_given_for_a_file_is_named_and_nothing_is_created(tmp_path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    home = tmp_path / "board"
    cases = [
        (["leaderboard", "add-results", str(folder), "--home", str(home)], f"{folder}: is a folder, not a file"),
        (["leaderboard", "init", "--config", str(folder), "--home", str(home)], f"{folder}: is a folder; give"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        text = " ".join(result.output.split())
        assert result.exit_code == 1 and message in text and "Errno" not in text, (args, result.output)
    assert not home.exists()  # the leaderboard is made only once its inputs were read


def test_a_mistyped_leaderboard_home_or_database_is_refused_not_created(tmp_path) -> None:
    home = tmp_path / "leaderbaord"
    for args in (
        ["leaderboard", "show", "calo", "--home", str(home)],
        ["leaderboard", "participant", "list", "--home", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'typo.db'}"],
    ):
        result = runner.invoke(app, args)
        text = " ".join(result.output.split())  # the message wraps at the terminal's width
        assert result.exit_code == 1 and "no leaderboard database" in text, result.output
        assert "leaderboard init" in text
    assert not home.exists() and not (tmp_path / "typo.db").exists()
    notes = tmp_path / "notes.db"
    notes.write_text("not a database, and must stay as it is\n" * 100)
    result = runner.invoke(app, ["leaderboard", "show", "calo", "--home", str(tmp_path), "--db", f"sqlite:///{notes}"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and f"{notes}: not a leaderboard database" in text, result.output
    assert notes.read_text().startswith("not a database")
    assert runner.invoke(app, ["leaderboard", "init", "--home", str(home)]).exit_code == 0
    assert runner.invoke(app, ["leaderboard", "show", "calo", "--home", str(home)]).exit_code == 0
