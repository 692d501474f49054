"""One suite of checks over every registered challenge and every registered baseline, in the
manner of scikit-learn's ``parametrize_with_checks``: a new challenge or baseline is checked the
moment it is registered."""

from __future__ import annotations

import inspect

import pytest

from hepbench import challenges
from hepbench.baselines.base import Baseline
from hepbench.challenges import Challenge
from hepbench.challenges.outputs import OutputError

CHALLENGES = challenges.all()
BASELINES = [(c.id, name) for c in CHALLENGES for name in c.baselines()]


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_challenge_declares_what_the_leaderboard_shows(challenge: Challenge) -> None:
    assert challenges.get(challenge.id) is challenge
    assert challenge.title and challenge.description
    assert challenge.ranking, "a challenge ranks by at least one metric"
    names = [m.name for m in challenge.ranking] + [c.name for c in challenge.columns]
    assert len(names) == len(set(names)), f"metric names repeat: {names}"
    assert challenge.presets and challenge.phases
    assert len({p.slug for p in challenge.phases}) == len(challenge.phases)
    assert set(challenge.input_options) >= {"preset"}
    assert set(challenge.validate_options) <= set(challenge.input_options)


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_challenge_is_a_full_implementation(challenge: Challenge) -> None:
    abstract = getattr(type(challenge), "__abstractmethods__", frozenset())
    assert not abstract, f"{challenge.id} leaves {sorted(abstract)} unimplemented"
    assert "truth" in inspect.signature(challenge.score).parameters


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_every_preset_names_a_model_configuration(challenge: Challenge) -> None:
    assert set(challenge.model_sizes) <= set(challenge.presets)
    for preset in challenge.presets:
        size = challenge.model_size(preset)
        assert size in challenge.presets and size not in challenge.model_sizes, f"{preset} -> {size}"
        assert challenge.model_size(preset, "tiny") == "tiny"


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_challenge_has_a_submission_template(challenge: Challenge) -> None:
    folder = challenge.template_dir()
    for name in ("Dockerfile", "entrypoint.py", "model.py", "README.md"):
        assert (folder / name).is_file(), f"{challenge.id}: {folder / name} is missing"


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_challenge_lists_its_baselines_without_importing_them(challenge: Challenge) -> None:
    methods = challenge.baselines()
    for name, baseline in methods.items():
        assert isinstance(baseline, Baseline) and baseline.name == name and baseline.challenge == challenge.id
        assert baseline.description and callable(baseline.factory)
    assert set(challenge.comparison_methods()) <= set(methods)
    with pytest.raises(ValueError, match="unknown baseline"):
        challenge.baseline("no-such-method")


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_missing_outputs_are_refused_with_the_file_named(challenge: Challenge, tmp_path, input_data) -> None:
    input_dir, organiser_dir, output_dir = tmp_path / "input", tmp_path / "organiser", tmp_path / "output"
    output_dir.mkdir()
    challenge.write_inputs(input_dir, organiser_dir, **challenge.validate_options, **input_data.get(challenge.id, {}))
    assert (input_dir / "metadata.json").is_file()
    with pytest.raises(OutputError, match=r"\w+\.(npy|json)"):
        challenge.read_outputs(output_dir, organiser_dir)


@pytest.mark.parametrize(("challenge_id", "name"), BASELINES, ids=[f"{c}:{n}" for c, n in BASELINES])
def test_baseline_builds_for_every_size(challenge_id: str, name: str) -> None:
    """Every baseline builds unfitted at every size on the CPU, with the challenge's interface."""
    baseline = challenges.get(challenge_id).baseline(name)
    for size in ("tiny", "small", "full"):
        estimator = baseline.factory(size, "cpu", 0)
        assert hasattr(estimator, "fit"), f"{name} ({size}) has no fit"
        assert hasattr(estimator, "predict") or hasattr(estimator, "sample"), (
            f"{name} ({size}) neither predicts nor samples"
        )
    with pytest.raises(ValueError):
        baseline.factory("huge", "cpu", 0)


def test_the_command_line_starts_without_heavy_libraries() -> None:
    """`hepbench --help` must stay light: no torch, xgboost, zuko, database or web stack at start."""
    import subprocess
    import sys

    code = (
        "import sys, hepbench.cli.main; heavy = {'torch', 'xgboost', 'zuko', 'sqlalchemy', 'fastapi', 'distributed'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"the CLI imports {loaded} at start"
