"""The submission kit: templates, output checks, hostile outputs and full round trips on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepbench import challenges
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.challenges.higgs_uncertainty.submission import read_and_validate_outputs
from hepbench.challenges.outputs import OutputError
from hepbench.cli.main import app
from hepbench.submission_kit.runner import RECORD_FILE, Payload, prepare_inputs, run_submission, tree_sha256
from hepbench.submission_kit.sandbox import MIB, Limits
from hepbench.submission_kit.sandbox.container import ContainerBackend
from hepbench.submission_kit.sandbox.workspace import make_run_root

runner = CliRunner()
VALIDATE_OPTIONS = dict(challenges.get("higgs-uncertainty").validate_options)
KIT_LIMITS = Limits(wall_seconds=60, memory_bytes=1024 * MIB, pids=64)
ANSWER = {"mu_hat": 1.0, "delta_mu_hat": 0.2, "p16": 0.8, "p84": 1.2}


@pytest.fixture(scope="module")
def higgs_inputs(sandbox_runs, higgs_tiny_dir):
    """Validate-size inputs (20k training events, two pseudo-experiments), written once."""
    root = make_run_root(sandbox_runs, prefix="inputs-")
    input_dir, organiser_dir, _ = prepare_inputs(
        "higgs-uncertainty",
        root,
        **VALIDATE_OPTIONS,
        data_dir=higgs_tiny_dir,
        plan_seed=0,  # fixed: reproducible tests
    )
    return input_dir, organiser_dir


@pytest.mark.parametrize(
    "args",
    [
        ["submission"],
        ["submission", "init"],
        ["submission", "validate"],
        ["submission", "run"],
        ["submission", "prepare-host"],
        ["submission", "recover"],
        ["submission", "selftest"],
    ],
)
def test_submission_commands_have_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_writes_the_template_and_keeps_existing_files(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    result = runner.invoke(app, ["submission", "init", "higgs-uncertainty", str(dest)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in dest.iterdir()) == ["Dockerfile", "README.md", "entrypoint.py", "model.py"]
    (dest / "model.py").write_text("# mine\n")
    again = runner.invoke(app, ["submission", "init", "higgs-uncertainty", str(dest)])
    assert again.exit_code == 1 and "--force" in again.output
    assert (dest / "model.py").read_text() == "# mine\n"


def test_a_submitted_folder_is_bundled_into_a_file_removed_afterwards(tmp_path: Path) -> None:
    import tarfile

    from hepbench.submission_kit.bundles import payload_file
    from hepbench.submission_kit.runner import template_dir

    with payload_file(template_dir("lhco")) as bundle:
        assert bundle.name.endswith(".tar.gz")
        with tarfile.open(bundle) as tar:
            assert "model.py" in tar.getnames()
    assert not bundle.exists() and not bundle.parent.exists()
    answers = tmp_path / "answers.csv"
    answers.write_text("id,score\n")
    with payload_file(answers) as same:
        assert same == answers
    assert answers.exists()


def test_init_names_the_challenges_that_take_submissions(tmp_path: Path) -> None:
    result = runner.invoke(app, ["submission", "init", "cms-open-data", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "['calo', 'higgs-uncertainty', 'lhco']" in result.output
    assert not (tmp_path / "x").exists()


def _plan_dir(tmp_path: Path) -> Path:
    organiser = tmp_path / "organiser"
    organiser.mkdir()
    make_test_plan(1, 2, 0).to_json(organiser / "plan.json")
    return organiser


def _rows(**changes):
    rows = [{"set_index": 0, "pe_index": p, **ANSWER} for p in (0, 1)]
    rows[1].update(changes)
    return rows


BAD_OUTPUTS = [
    (b"\x89PNG\x00\xff", "answers.json: not UTF-8"),
    (b"mu_hat = 1", "answers.json: not valid JSON (line 1"),
    (json.dumps([ANSWER]).encode(), "answers.json must be an object"),
    (json.dumps({"answers": {"mu_hat": [1, 2]}}).encode(), "answers.json: 'answers' must be a list"),
    (json.dumps({"answers": _rows(mu_hat=float("nan"))}).encode(), "answers[1].mu_hat is nan"),
    (json.dumps({"answers": _rows(p84="high")}).encode(), "answers[1].p84 must be a number"),
    (
        json.dumps({"answers": _rows(delta_mu_hat=-1.0)}).encode(),
        "answers[1]: answer['delta_mu_hat'] = -1.0 is negative",
    ),
    (json.dumps({"answers": _rows(pe_index=7)}).encode(), "answers[1]: (set_index, pe_index) = (0, 7) is not"),
    (json.dumps({"answers": _rows(pe_index=0)}).encode(), "answered twice"),
    (json.dumps({"answers": _rows()[:1]}).encode(), "no answer for 1 of 2 pseudo-experiments"),
    (
        json.dumps({"answers": [{"set_index": 0, "pe_index": 0, "mu_hat": 1.0}]}).encode(),
        "missing field(s) ['delta_mu_hat'",
    ),
]


@pytest.mark.parametrize("payload,message", BAD_OUTPUTS, ids=[m[:30] for _, m in BAD_OUTPUTS])
def test_output_errors_name_the_file_and_field(tmp_path: Path, payload: bytes, message: str) -> None:
    organiser = _plan_dir(tmp_path)
    output = tmp_path / "output"
    output.mkdir()
    (output / "answers.json").write_bytes(payload)
    with pytest.raises(OutputError) as err:
        read_and_validate_outputs(output, organiser)
    assert message in str(err.value)


def test_missing_output_file_is_named(tmp_path: Path) -> None:
    organiser = _plan_dir(tmp_path)
    (tmp_path / "output").mkdir()
    with pytest.raises(OutputError, match="answers.json: missing"):
        read_and_validate_outputs(tmp_path / "output", organiser)


def test_valid_answers_pass(tmp_path: Path) -> None:
    organiser = _plan_dir(tmp_path)
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "answers.json").write_text(json.dumps({"answers": _rows()}))
    assert len(read_and_validate_outputs(tmp_path / "output", organiser)) == 2


HOSTILE_MODELS = {
    "nan": (
        "import json, os\nmeta = json.load(open('/input/metadata.json'))\n"
        "rows = [{'set_index': e['set_index'], 'pe_index': e['pe_index'], 'mu_hat': float('nan'),"
        " 'delta_mu_hat': 0.1, 'p16': 0.0, 'p84': 1.0} for e in meta['pseudo_experiments']]\n"
        "open('/output/answers.json', 'w').write(json.dumps({'answers': rows}))\nos._exit(0)\n",
        "answers.json: answers[0].mu_hat is nan",
    ),
    "wrong-shape": (
        "import json, os\nopen('/output/answers.json', 'w').write(json.dumps({'answers': {'mu_hat': [1, 2]}}))\n"
        "os._exit(0)\n",
        "answers.json: 'answers' must be a list, got an object",
    ),
    "garbage": (
        "import os\nopen('/output/answers.json', 'wb').write(os.urandom(4096))\nos._exit(0)\n",
        "answers.json: not",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE_MODELS))
def test_hostile_outputs_are_reported_not_scored(any_backend, higgs_inputs, sandbox_runs, tmp_path, case) -> None:
    code, message = HOSTILE_MODELS[case]
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "model.py").write_text(code)
    run_dir = make_run_root(sandbox_runs, prefix=f"bad-{case}-")
    record = run_submission(
        "higgs-uncertainty",
        any_backend,
        Payload("code", code_dir=code_dir),
        run_dir=run_dir,
        limits=KIT_LIMITS,
        input_dir=higgs_inputs[0],
        organiser_dir=higgs_inputs[1],
    )
    assert record["status"] == "invalid-output", record["reason"]
    assert message in record["reason"]
    assert "score" not in record
    on_disk = json.loads((run_dir / RECORD_FILE).read_text())
    assert on_disk["status"] == "invalid-output" and on_disk["outcome"]["exit_code"] == 0
    assert (run_dir / "output" / "answers.json").is_file()  # kept for the participant and the organiser


@pytest.mark.slow
def test_the_template_gives_the_same_answers_on_both_backends(
    bwrap_backend, docker_backend, higgs_inputs, sandbox_runs
) -> None:
    from hepbench.submission_kit.runner import template_dir

    answers = []
    for backend in (bwrap_backend, docker_backend):
        run_dir = make_run_root(sandbox_runs, prefix="template-")
        record = run_submission(
            "higgs-uncertainty",
            backend,
            Payload("code", code_dir=template_dir("higgs-uncertainty")),
            run_dir=run_dir,
            limits=KIT_LIMITS,
            input_dir=higgs_inputs[0],
            organiser_dir=higgs_inputs[1],
        )
        assert record["status"] == "ok", (record["reason"], record["outcome"]["log_tail"])
        assert record["score"]["metrics"]["n_pseudo_experiments"] == 2
        answers.append(json.loads((run_dir / "output" / "answers.json").read_text()))
    assert answers[0] == answers[1]


def test_record_is_on_disk_before_the_run(docker_host, sandbox_runs, higgs_tiny_dir, tmp_path) -> None:
    """A run whose sandbox fails (here: an image the daemon does not have) ends in a recorded
    state with the reason, the payload's checksum and what was staged; nothing stays running."""
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "model.py").write_text("class Model: ...\n")
    run_dir = make_run_root(sandbox_runs, prefix="dies-")
    backend = ContainerBackend("hepbench-absent/never-built:1", client=docker_host["client"])
    returned = run_submission(
        "higgs-uncertainty",
        backend,
        Payload("code", code_dir=code_dir),
        run_dir=run_dir,
        limits=KIT_LIMITS,
        input_options={**VALIDATE_OPTIONS, "data_dir": higgs_tiny_dir, "plan_seed": 0},
    )
    record = json.loads((run_dir / RECORD_FILE).read_text())
    assert record == json.loads(json.dumps(returned, default=str))
    assert record["status"] == "sandbox-error" and "ImageNotFound" in record["reason"]
    assert record["payload"]["sha256"] == tree_sha256(code_dir)
    assert (run_dir / "submission" / "model.py").read_text() == "class Model: ...\n"
    assert (run_dir / "input" / "metadata.json").is_file()


def _cli(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(Path(args[args.index("--json") + 1]).read_text()) if "--json" in args else {}


def test_round_trip_code_submission_on_bubblewrap(bwrap_backend, sandbox_runs, higgs_tiny_dir, tmp_path) -> None:
    dest = tmp_path / "higgs"
    _cli(["submission", "init", "higgs-uncertainty", str(dest)])
    checked = _cli(
        [
            "submission",
            "validate",
            "higgs-uncertainty",
            str(dest),
            "--runs-dir",
            str(sandbox_runs),
            "--data",
            str(higgs_tiny_dir),
            "--json",
            str(tmp_path / "validate.json"),
        ]
    )
    assert checked["status"] == "ok" and checked["validation"]["ok"] and "score" not in checked
    scored = _cli(
        [
            "submission",
            "run",
            "higgs-uncertainty",
            str(dest),
            "--sets",
            "2",
            "--pseudo-experiments",
            "2",
            "--wall-seconds",
            "120",
            "--memory-mb",
            "1024",
            "--runs-dir",
            str(sandbox_runs),
            "--data",
            str(higgs_tiny_dir),
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    assert scored["status"] == "ok", scored["reason"]
    assert scored["backend"] == "bubblewrap"
    metrics = scored["score"]["metrics"]
    assert metrics["n_pseudo_experiments"] == 4 and metrics["n_failed"] == 0
    assert {"coverage_score", "width", "coverage", "rmse", "mae"} <= set(metrics)
    assert scored["outcome"]["peak_memory_bytes"] > 0 and scored["outcome"]["wall_seconds"] > 0


def test_round_trip_container_submission(docker_host, sandbox_runs, higgs_tiny_dir, tmp_path) -> None:
    dest = tmp_path / "higgs"
    _cli(["submission", "init", "higgs-uncertainty", str(dest)])
    checked = _cli(
        [
            "submission",
            "validate",
            "higgs-uncertainty",
            str(dest),
            "--backend",
            "docker",
            "--runs-dir",
            str(sandbox_runs),
            "--data",
            str(higgs_tiny_dir),
            "--json",
            str(tmp_path / "validate.json"),
        ]
    )
    assert checked["status"] == "ok" and checked["payload"]["kind"] == "dockerfile"
    assert checked["build"]["status"] == "ok" and checked["build"]["seconds"] > 0  # built by the run, in its record
    image = checked["payload"]["image"]
    assert image == f"hepbench-submission/higgs-uncertainty:{tree_sha256(dest)[:12]}"
    scored = _cli(
        [
            "submission",
            "run",
            "higgs-uncertainty",
            "--backend",
            "docker",
            "--image",
            image,
            "--sets",
            "2",
            "--pseudo-experiments",
            "2",
            "--wall-seconds",
            "120",
            "--memory-mb",
            "1024",
            "--runs-dir",
            str(sandbox_runs),
            "--data",
            str(higgs_tiny_dir),
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    assert scored["status"] == "ok", scored["reason"]
    assert scored["backend"] == "docker"
    assert scored["score"]["metrics"]["n_pseudo_experiments"] == 4
    docker_host["client"].images.remove(image)


@pytest.mark.parametrize("backend", ["bubblewrap", "docker"])
def test_cli_reports_a_failing_submission_with_its_reason(
    request, backend, sandbox_runs, higgs_tiny_dir, tmp_path
) -> None:
    """The reason and the log's tail are printed, but none of the terminal escapes in the log
    (window title, clipboard write, screen clear) nor a forged line that looks like the CLI's own."""
    request.getfixturevalue("bwrap_backend" if backend == "bubblewrap" else "docker_backend")
    code = tmp_path / "code"
    code.mkdir()
    forged = r"\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b[32mstatus: ok\x1b[0m"
    (code / "model.py").write_text(
        f"import sys\nsys.stdout.write('{forged}' + '\\n')\nraise SystemExit('no model here')\n"
    )
    result = runner.invoke(
        app,
        [
            "submission",
            "validate",
            "higgs-uncertainty",
            str(code),
            "--backend",
            backend,
            "--data",
            str(higgs_tiny_dir),
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "v.json"),
        ],
    )
    assert result.exit_code == 1
    record = json.loads((tmp_path / "v.json").read_text())
    assert record["status"] == "crashed" and "no model here" in record["outcome"]["log_tail"]
    assert "\x1b]52" in record["outcome"]["log_tail"]  # the record keeps the bytes; the terminal never sees them
    assert "no model here" in result.output and "\x1b" not in result.output and "\x07" not in result.output


WORKER = """
import sys
from pathlib import Path
from hepbench.submission_kit.sandbox import MIB, Limits
from hepbench.submission_kit.sandbox.testing import backend_by_name
from hepbench.submission_kit.runner import Payload, run_submission
code, run_dir, input_dir, organiser_dir, backend = sys.argv[1:]
run_submission("higgs-uncertainty", backend_by_name(backend), Payload("code", code_dir=Path(code)),
               run_dir=Path(run_dir), limits=Limits(wall_seconds=120, memory_bytes=512 * MIB, pids=32),
               input_dir=Path(input_dir), organiser_dir=Path(organiser_dir))
"""


@pytest.mark.parametrize("backend", ["bubblewrap", "docker"])
def test_a_dead_worker_leaves_no_stuck_run(request, higgs_inputs, sandbox_runs, tmp_path, backend) -> None:
    """The worker is SIGKILLed mid-run: recovery closes the record and removes the sandbox."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from hepbench.submission_kit.runner import recover_stale_runs

    request.getfixturevalue("bwrap_backend" if backend == "bubblewrap" else "docker_backend")
    code = tmp_path / "code"
    code.mkdir()
    (code / "model.py").write_text("import time\ntime.sleep(10 ** 6)\n")
    runs = make_run_root(sandbox_runs, prefix="workers-")
    run_dir = runs / "run"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(code), str(run_dir), str(higgs_inputs[0]), str(higgs_inputs[1]), backend]
    )
    deadline = time.monotonic() + 30
    while not (os.path.ismount(run_dir / "output.live") and (run_dir / RECORD_FILE).exists()):
        assert time.monotonic() < deadline and worker.poll() is None, "the run did not start"
        time.sleep(0.1)
    time.sleep(1.0)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    if backend == "bubblewrap":  # the sandbox dies with its runner (--die-with-parent), before any recovery
        from hepbench.submission_kit.sandbox.cgroups import ROOT

        groups = [*ROOT.glob(f"hepbench/run-{worker.pid}-*"), *ROOT.glob(f"*/hepbench/run-{worker.pid}-*")]
        assert groups, "the run had no control group"
        deadline = time.monotonic() + 10
        while any((g / "cgroup.procs").read_text().split() for g in groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any((g / "cgroup.procs").read_text().split() for g in groups), "the sandbox outlived its runner"
    assert json.loads((run_dir / RECORD_FILE).read_text())["status"] == "running"
    client = request.getfixturevalue("docker_host")["client"] if backend == "docker" else None
    closed = recover_stale_runs(runs, docker_client=client)
    assert [c["run_dir"] for c in closed] == [str(run_dir)]
    record = json.loads((run_dir / RECORD_FILE).read_text())
    assert record["status"] == "killed" and "stopped before the run finished" in record["reason"]
    assert not os.path.ismount(run_dir / "output.live")
    if backend == "docker":
        assert len(record["recovered"]["containers_removed"]) == 1
    else:
        assert record["recovered"]["cgroups_removed"] == 1
    assert recover_stale_runs(runs, docker_client=client) == []


def test_inputs_that_cannot_fit_on_disk_are_refused_up_front(tmp_path: Path) -> None:
    import pandas as pd

    from hepbench.challenges.higgs_uncertainty.submission import check_room

    test_set = pd.DataFrame({"weights": [1e6, 1e3], "labels": [0, 1]})  # a million expected events
    assert check_room(tmp_path / "input", test_set, 1) > 1e8
    with pytest.raises(ValueError, match=r"pseudo-experiments need about [\d.]+ GB and [\d.]+ GB are free"):
        check_room(tmp_path / "input", test_set, 10**6)


def test_selftest_reports_containment_per_case(bwrap_backend, docker_backend, sandbox_runs, tmp_path) -> None:
    out = tmp_path / "selftest.json"
    result = runner.invoke(
        app,
        [
            "submission",
            "selftest",
            "--backend",
            "bubblewrap",
            "--backend",
            "docker",
            "--case",
            "write-outside",
            "--case",
            "crash",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert [(r["case"], r["backend"]) for r in rows] == [
        ("write-outside", "bubblewrap"),
        ("crash", "bubblewrap"),
        ("write-outside", "docker"),
        ("crash", "docker"),
    ]
    assert all(r["contained"] for r in rows)
    assert [r["outcome"]["status"] for r in rows] == ["ok", "crashed", "ok", "crashed"]
    bad = runner.invoke(app, ["submission", "selftest", "--case", "teleport", "--runs-dir", str(sandbox_runs)])
    assert bad.exit_code == 1 and "unknown hostile case" in bad.output
