"""The lhco and calo submission adapters: output checks and full round trips on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench import challenges
from hepbench.challenges.outputs import OutputError
from hepbench.cli.main import app
from hepbench.submission_kit.runner import RECORD_FILE, Payload, prepare_inputs, run_submission, template_dir
from hepbench.submission_kit.sandbox import MIB, Limits
from hepbench.submission_kit.sandbox.workspace import make_run_root

runner = CliRunner()
KIT_LIMITS = Limits(wall_seconds=120, memory_bytes=1536 * MIB, pids=64)
CHALLENGES = ("lhco", "calo")


@pytest.fixture(scope="module")
def kit_inputs(sandbox_runs) -> dict[str, tuple[Path, Path]]:
    """The validate-size inputs of each challenge, written once where the sandbox user can read them."""
    out = {}
    for challenge in CHALLENGES:
        root = make_run_root(sandbox_runs, prefix=f"inputs-{challenge}-")
        input_dir, organiser_dir, _ = prepare_inputs(
            challenge, root, **challenges.get(challenge).validate_options, seed=0
        )  # fixed: reproducible tests
        out[challenge] = (input_dir, organiser_dir)
    return out


def test_lhco_inputs_hold_no_truth(kit_inputs) -> None:
    input_dir, organiser_dir = kit_inputs["lhco"]
    meta = json.loads((input_dir / "metadata.json").read_text())
    assert sorted(p.name for p in input_dir.iterdir()) == ["bump_hunt.npy", "data.npy", "metadata.json", "test.npy"]
    assert meta["columns"] == ["mjj", "mj1", "delta_m", "tau21_j1", "tau21_j2"]
    test = np.load(input_dir / "test.npy")
    assert test.shape == (meta["files"]["test"]["n_events"], 5)
    labels = np.load(organiser_dir / "truth.npz")["test_labels"]
    # Shuffled: the signal rows are not one block at either end.
    assert 0 < labels[: len(labels) // 2].mean() < 1 and 0 < labels[len(labels) // 2 :].mean() < 1
    assert "n_signal" not in json.dumps(meta)


def _write_lhco(output: Path, test, bump) -> None:
    output.mkdir(parents=True, exist_ok=True)
    np.save(output / "test_scores.npy", test)
    np.save(output / "bump_hunt_scores.npy", bump)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test": "nan"}, "test_scores.npy: 1 non-finite value(s), first nan at index (7,)"),
        ({"test": "short"}, "test_scores.npy: shape (5,), expected"),
        ({"bump": "text"}, "bump_hunt_scores.npy: dtype <U"),
    ],
)
def test_lhco_output_errors_name_the_file_and_field(kit_inputs, tmp_path, change, message) -> None:
    _, organiser_dir = kit_inputs["lhco"]
    truth = np.load(organiser_dir / "truth.npz")
    test, bump = np.zeros(len(truth["test_labels"])), np.zeros(len(truth["bump_hunt_mjj"]))
    if change.get("test") == "nan":
        test[7] = np.nan
    if change.get("test") == "short":
        test = test[:5]
    if change.get("bump") == "text":
        bump = np.array(["a"] * len(bump))
    _write_lhco(tmp_path, test, bump)
    with pytest.raises(OutputError) as err:
        challenges.get("lhco").read_outputs(tmp_path, organiser_dir)
    assert message in str(err.value)


def test_lhco_scores_perfect_and_random_detectors(kit_inputs, tmp_path) -> None:
    _, organiser_dir = kit_inputs["lhco"]
    truth = np.load(organiser_dir / "truth.npz")
    labels = truth["test_labels"].astype(float)
    lhco = challenges.get("lhco")
    _write_lhco(tmp_path, labels, np.zeros(len(truth["bump_hunt_mjj"])))
    perfect = lhco.score(tmp_path, organiser_dir)
    assert perfect.metrics["auc"] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    _write_lhco(tmp_path, rng.random(len(labels)), rng.random(len(truth["bump_hunt_mjj"])))
    random = lhco.score(tmp_path, organiser_dir)
    assert abs(random.metrics["auc"] - 0.5) < 0.03
    assert [h["keep_fraction"] for h in random.details["bump_hunt"]] == [1.0, 0.1, 0.01]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("negative", "showers.npy: 1 shower(s) with negative voxel energies, first row 3 (voxel 5: -1 MeV)"),
        ("inf", "showers.npy: 1 non-finite value(s), first inf at index (2, 0)"),
        ("transposed", "showers.npy: shape (368, 300), expected (300, 368)"),
    ],
)
def test_calo_output_errors_name_the_file_and_row(kit_inputs, tmp_path, kind, message) -> None:
    input_dir, organiser_dir = kit_inputs["calo"]
    meta = json.loads((input_dir / "metadata.json").read_text())
    showers = np.ones((meta["n_generate"], meta["n_voxels"]), dtype=np.float32)
    if kind == "negative":
        showers[3, 5] = -1.0
    if kind == "inf":
        showers[2, 0] = np.inf
    if kind == "transposed":
        showers = showers.T
    np.save(tmp_path / "showers.npy", showers)
    with pytest.raises(OutputError) as err:
        challenges.get("calo").read_outputs(tmp_path, organiser_dir)
    assert message in str(err.value)


def test_calo_reference_showers_score_as_indistinguishable(kit_inputs, tmp_path) -> None:
    """The held-out showers themselves give AUC about 0.5; the metric is not rigged by the adapter."""
    from hepbench.challenges.calo.dataset import load_split

    _, organiser_dir = kit_inputs["calo"]
    info = json.loads((organiser_dir / "reference.json").read_text())
    test = load_split(info["data_dir"], info["geometry"], "test")
    calo = challenges.get("calo")
    np.save(tmp_path / "showers.npy", test.showers)
    same = calo.score(tmp_path, organiser_dir).metrics
    np.save(tmp_path / "showers.npy", test.showers * 1.3)
    scaled = calo.score(tmp_path, organiser_dir).metrics
    # Identical showers cannot be told apart: the AUC stays at or below 0.5. It may fall well below
    # it on 300 sparse showers, since the anchor's shuffled split puts a shower's two copies on
    # opposite sides of training and test with opposite labels, and the classifier memorises them.
    assert same["auc_low"] < 0.6 and same["fpd"] < 1e-6 and same["separation_power_mean"] == 0.0
    # The anchor's high-level inputs (log10 energies, scaled by their largest value for FPD) hide a
    # 30% energy scale from the tiny high-level classifier and from FPD on 300 showers; the voxels
    # and the feature histograms show it.
    assert scaled["auc_low"] > same["auc_low"] + 0.2 and scaled["separation_power_mean"] > 0.01
    # Scored outside a sandbox: no wall time to check a generation time against, so none is reported.
    assert "ms_per_shower" not in same
    # The folder is scored as its phase says: an option that would change nothing is refused, not ignored.
    with pytest.raises(ValueError, match="option plots: applies to an HDF5 file"):
        calo.score(tmp_path, organiser_dir, plots=tmp_path / "plots")


def _timing_file(folder: Path, showers: int, **changes) -> None:
    """A timing.json as the kit's entrypoint writes it, with ``changes`` (None drops a field)."""
    timing = {
        "seconds": 0.5,
        "batch_seconds": [0.5],
        "warmup_seconds": 0.1,
        "n_showers": showers,
        "batch_size": showers,
        "device": "cpu",
        "clock": "monotonic",
    }
    timing.update(changes)
    (folder / "timing.json").write_text(json.dumps({k: v for k, v in timing.items() if v is not None}))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seconds": float("nan")}, "timing.json: seconds is nan; a finite number is required"),
        ({"seconds": -1.0, "batch_seconds": [-1.0]}, "timing.json: seconds is -1; a positive time in seconds"),
        ({"seconds": "fast"}, "timing.json: seconds must be a number, got a string 'fast'"),
        ({"n_showers": 299}, "timing.json: n_showers is 299, but showers.npy holds 300 showers"),
        ({"batch_size": 7}, "timing.json: batch_size is 7; the protocol times batches of 300 showers"),
        ({"batch_seconds": [0.2]}, "timing.json: seconds is 0.5, but batch_seconds sum to 0.2"),
        ({"batch_seconds": [0.25, 0.25]}, "timing.json: batch_seconds has 2 entries; 1 batches were timed"),
        ({"warmup_seconds": -0.1}, "timing.json: warmup_seconds is -0.1; a time >= 0 is required"),
        ({"device": None}, "timing.json: field device is missing"),
        ({"device": "cpu\x1b[2J"}, "timing.json: device must be a short printable name"),
        (
            {"seconds": 50.0, "batch_seconds": [50.0]},
            "timing.json: seconds + warmup_seconds = 50.100 s, more than the 10.000 s the host measured",
        ),
        ("absent", "timing.json: missing; the submission must write /output/timing.json"),
        ("garbage", "timing.json: not valid JSON (line 1, column 1"),
    ],
)
def test_calo_timing_file_is_checked_against_the_showers_and_the_wall_time(tmp_path, changes, message) -> None:
    if changes == "garbage":
        (tmp_path / "timing.json").write_text("fast enough")
    elif changes != "absent":
        _timing_file(tmp_path, 300, **changes)
    with pytest.raises(OutputError) as err:
        challenges.get("calo").check_run_outputs(tmp_path, np.zeros((300, 368)), wall_seconds=10.0)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_calo_timing_of_several_batches_gives_ms_per_shower(tmp_path) -> None:
    _timing_file(tmp_path, 25_000, seconds=3.0, batch_seconds=[1.2, 1.2, 0.6], batch_size=10_000, device="cuda:0")
    checked = challenges.get("calo").check_run_outputs(tmp_path, np.zeros((25_000, 368)), wall_seconds=4.0)
    timing = checked["generation_timing"]
    assert timing["ms_per_shower"] == pytest.approx(0.12) and timing["n_batches"] == 3
    assert timing["device"] == "cuda:0" and timing["wall_seconds"] == 4.0


NAN_MODELS = {
    "lhco": (
        "import json, numpy as np, os\nmeta = json.load(open('/input/metadata.json'))\n"
        "for name, out in meta['outputs'].items():\n"
        "    np.save('/output/' + out, np.full(meta['files'][name]['n_events'], np.nan))\nos._exit(0)\n",
        "test_scores.npy: ",
    ),
    "calo": (
        "import json, numpy as np, os\nmeta = json.load(open('/input/metadata.json'))\n"
        "np.save('/output/showers.npy', np.full((meta['n_generate'], meta['n_voxels']), np.nan))\nos._exit(0)\n",
        "showers.npy: ",
    ),
}


@pytest.mark.parametrize("challenge", CHALLENGES)
def test_nan_outputs_are_reported_not_scored(any_backend, kit_inputs, sandbox_runs, tmp_path, challenge) -> None:
    code, prefix = NAN_MODELS[challenge]
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "model.py").write_text(code)
    run_dir = make_run_root(sandbox_runs, prefix=f"nan-{challenge}-")
    input_dir, organiser_dir = kit_inputs[challenge]
    record = run_submission(
        challenge,
        any_backend,
        Payload("code", code_dir=code_dir),
        run_dir=run_dir,
        limits=KIT_LIMITS,
        input_dir=input_dir,
        organiser_dir=organiser_dir,
    )
    assert record["status"] == "invalid-output", record["reason"]
    assert record["reason"].startswith(prefix) and "non-finite" in record["reason"]
    assert "score" not in record
    assert json.loads((run_dir / RECORD_FILE).read_text())["status"] == "invalid-output"


def _cli(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(Path(args[args.index("--json") + 1]).read_text())


def _check_scored(challenge: str, scored: dict) -> None:
    assert scored["status"] == "ok", (scored["reason"], scored["outcome"].get("log_tail"))
    metrics = scored["score"]["metrics"]
    if challenge == "lhco":
        assert 0.0 <= metrics["auc"] <= 1.0 and metrics["max_sic"] > 0 and np.isfinite(metrics["bump_hunt_z_max"])
        assert scored["score"]["n_test"]["signal"] > 0
    else:
        # The tiny classifier on 300 showers puts the template near 0.5, within its noise (0.48 seen).
        assert 0.4 <= metrics["auc_low"] <= 1.0 and metrics["fpd"] > 0 and metrics["n_generated"] == 300
        # Generation timed inside the sandbox, at most the host's wall time of the whole run.
        wall = scored["outcome"]["wall_seconds"]
        assert np.isfinite(metrics["ms_per_shower"]) and 0 < metrics["ms_per_shower"] <= 1e3 * wall / 300
        timing = scored["score"]["generation_timing"]
        assert timing["batch_size"] == 300 and timing["n_batches"] == 1 and timing["device"] == "cpu"
        assert timing["seconds"] + timing["warmup_seconds"] <= wall and timing["wall_seconds"] == wall
    assert scored["outcome"]["wall_seconds"] > 0


@pytest.mark.parametrize("challenge", CHALLENGES)
def test_round_trip_code_submission_on_bubblewrap(bwrap_backend, sandbox_runs, tmp_path, challenge) -> None:
    dest = tmp_path / challenge
    _cli(["submission", "init", challenge, str(dest), "--json", str(tmp_path / "init.json")])
    checked = _cli(
        [
            "submission",
            "validate",
            challenge,
            str(dest),
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "validate.json"),
        ]
    )
    assert checked["status"] == "ok" and checked["validation"]["ok"] and "score" not in checked
    if challenge == "calo":  # validate checks the timing file too
        assert checked["validation"]["generation_timing"]["n_showers"] == 300
    scored = _cli(
        [
            "submission",
            "run",
            challenge,
            str(dest),
            "--wall-seconds",
            "300",
            "--memory-mb",
            "1536",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    assert scored["backend"] == "bubblewrap"
    _check_scored(challenge, scored)


FORGING_MODEL = """
import atexit, json

import numpy as np


class Model:
    def fit(self, incident_energy, showers, geometry):
        self.fraction_ = (showers / incident_energy[:, None]).mean(axis=0)
        return self

    def sample(self, incident_energy):
        return incident_energy[:, None] * self.fraction_


def _forge():
    # Runs after the kit's entrypoint wrote timing.json: claims far more time than the run took.
    timing = json.load(open("/output/timing.json"))
    timing["seconds"] = timing["batch_seconds"][0] = 1e6
    json.dump(timing, open("/output/timing.json", "w"))


atexit.register(_forge)
"""


def test_a_forged_calo_timing_file_is_refused_in_one_line(bwrap_backend, sandbox_runs, tmp_path) -> None:
    code = tmp_path / "forger"
    code.mkdir()
    (code / "model.py").write_text(FORGING_MODEL)
    out = tmp_path / "run.json"
    args = ["submission", "run", "calo", str(code), "--runs-dir", str(sandbox_runs), "--json", str(out)]
    result = runner.invoke(app, [*args, "--wall-seconds", "300", "--memory-mb", "1536"])
    assert result.exit_code == 1, result.output
    record = json.loads(out.read_text())
    assert record["status"] == "invalid-output" and "score" not in record
    reason = record["reason"]
    assert reason.startswith("timing.json: seconds + warmup_seconds = 1000000.")
    assert "the host measured for the whole sandboxed run" in reason and "\n" not in reason


@pytest.mark.parametrize("challenge", CHALLENGES)
def test_round_trip_container_submission(docker_host, sandbox_runs, tmp_path, challenge) -> None:
    dest = tmp_path / challenge
    _cli(["submission", "init", challenge, str(dest), "--json", str(tmp_path / "init.json")])
    checked = _cli(
        [
            "submission",
            "validate",
            challenge,
            str(dest),
            "--backend",
            "docker",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "validate.json"),
        ]
    )
    assert checked["status"] == "ok" and checked["payload"]["kind"] == "dockerfile"
    assert checked["build"]["status"] == "ok"  # built by the run, under its limits, in its record
    image = checked["payload"]["image"]
    scored = _cli(
        [
            "submission",
            "run",
            challenge,
            "--backend",
            "docker",
            "--image",
            image,
            "--wall-seconds",
            "300",
            "--memory-mb",
            "1536",
            "--runs-dir",
            str(sandbox_runs),
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    assert scored["backend"] == "docker"
    _check_scored(challenge, scored)
    docker_host["client"].images.remove(image)


def test_options_of_another_challenge_are_refused(tmp_path) -> None:
    dest = tmp_path / "lhco"
    _cli(["submission", "init", "lhco", str(dest), "--json", str(tmp_path / "init.json")])
    result = runner.invoke(app, ["submission", "run", "lhco", str(dest), "--sets", "2"])
    assert result.exit_code != 0 and "--sets does not apply to lhco submissions" in result.output


def test_templates_hold_the_protocol_files() -> None:
    for challenge in CHALLENGES:
        names = sorted(p.name for p in template_dir(challenge).iterdir() if p.is_file())
        assert names == ["Dockerfile", "README.md", "entrypoint.py", "model.py"]


def test_the_kit_entrypoint_times_every_batch_after_a_warm_up(tmp_path) -> None:
    """The template's timed_generation: one untimed call, then one timed call per batch, the
    showers in order; at the protocol's batch its record passes the host's check."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("calo_entrypoint", template_dir("calo") / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)

    class Counting:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def sample(self, energies):
            self.calls.append(len(energies))
            return np.repeat(energies[:, None], 4, axis=1)

    wanted = np.arange(1.0, 26.0)
    model = Counting()
    showers, timing = entrypoint.timed_generation(model, wanted, 4, 10)
    assert model.calls == [10, 10, 10, 5] and np.array_equal(showers[:, 0], wanted.astype(np.float32))
    assert timing["batch_size"] == 10 and len(timing["batch_seconds"]) == 3 and timing["device"] == "cpu"
    assert timing["seconds"] == pytest.approx(sum(timing["batch_seconds"])) and timing["n_showers"] == 25

    model = Counting()
    showers, timing = entrypoint.timed_generation(model, wanted, 4, 10_000)
    assert model.calls == [25, 25]
    (tmp_path / "timing.json").write_text(json.dumps(timing))
    checked = challenges.get("calo").check_run_outputs(tmp_path, showers, wall_seconds=60.0)["generation_timing"]
    assert checked["ms_per_shower"] == pytest.approx(1e3 * timing["seconds"] / 25) and checked["n_batches"] == 1
