"""``hepbench leaderboard init --config competition.yaml``: phases and their secret data from one file."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepbench.challenges.secrets import read_secrets
from hepbench.cli.main import app
from hepbench.leaderboard.competition import CompetitionError, load_competition
from hepbench.leaderboard.db import open_store
from hepbench.leaderboard.submissions import get_phase

runner = CliRunner()

COMPETITION = """\
challenges:
  - id: lhco
    phases:
      - name: public
        start: 2026-01-10
        end: 2026-03-01
        max_per_day: 3
        max_total: 50
        preset: tiny
        limits: {memory_mb: 1024, wall_seconds: 120}
      - name: final
        title: Final test
        hidden: true
        max_total: 2
        preset: tiny
        seed: entropy
"""


def _init(tmp_path: Path, text: str) -> tuple[object, Path]:
    config = tmp_path / "competition.yaml"
    config.write_text(text)
    home = tmp_path / "lb"
    return runner.invoke(app, ["leaderboard", "init", "--config", str(config), "--home", str(home)]), home


def test_init_creates_the_phases_and_their_secret_truth(tmp_path: Path) -> None:
    result, home = _init(tmp_path, COMPETITION)
    assert result.exit_code == 0, result.output
    secrets = {}
    for phase in ("public", "final"):
        organiser = home / "phases" / "lhco" / phase / "organiser"
        assert (organiser / "truth.npz").is_file()
        assert (home / "phases" / "lhco" / phase / "input" / "test.npy").is_file()
        assert stat.S_IMODE((organiser / "secrets.json").stat().st_mode) == 0o600
        secrets[phase] = read_secrets(organiser)["data_seed"]
        assert str(secrets[phase]) not in result.output  # drawn from entropy, never printed
    assert secrets["public"] != secrets["final"]
    store = open_store(home, None)
    try:
        with store.transaction() as session:
            public = get_phase(session, "lhco", "public")
            final = get_phase(session, "lhco", "final")
            assert (public.hidden, public.max_per_day, public.max_total) == (False, 3, 50)
            assert (public.starts_at, public.ends_at) == (dt.datetime(2026, 1, 10), dt.datetime(2026, 3, 1))
            assert json.loads(public.sandbox_limits) == {"memory_mb": 1024, "wall_seconds": 120.0}
            assert (final.starts_at, final.ends_at, final.sandbox_limits, final.data_preset) == (None,) * 4
            assert (final.hidden, final.max_per_day, final.max_total, final.title) == (True, None, 2, "Final test")
            assert final.plan_path == str((home / "phases" / "lhco" / "final" / "organiser").resolve())
    finally:
        store.close()
    dates = json.loads((home / "phases" / "lhco" / "public" / "phase.json").read_text())
    assert (dates["start"], dates["end"]) == ("2026-01-10T00:00:00", "2026-03-01T00:00:00")
    # Running it again keeps the secret data (no new draw) and the settings.
    again, _ = _init(tmp_path, COMPETITION)
    assert again.exit_code == 0, again.output
    assert read_secrets(home / "phases" / "lhco" / "final" / "organiser")["data_seed"] == secrets["final"]


def test_seed_from_an_organiser_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "secrets.json"
    secret.write_text(json.dumps({"data_seed": 123456789}))
    secret.chmod(0o644)
    text = f"challenges:\n  - id: lhco\n    phases:\n      - name: public\n        seed: secret-file\n        seed_file: {secret}\n"
    refused, home = _init(tmp_path, text)
    assert refused.exit_code != 0 and "seed_file" in refused.output and "0600" in refused.output
    assert not home.exists()
    secret.chmod(0o600)
    result, home = _init(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert read_secrets(home / "phases" / "lhco" / "public" / "organiser")["data_seed"] == 123456789
    assert "123456789" not in result.output


BAD = {
    "unknown key": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, colour: red}\n",
        "phases[0].colour",
    ),
    "bad date": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, start: 2026-13-01}\n",
        "phases[0].start",
    ),
    "end before start": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, start: 2026-03-01, end: 2026-01-01}\n",
        "phases[0].end",
    ),
    "unknown challenge": ("challenges:\n  - id: nope\n    phases:\n      - {name: public}\n", "challenges[0].id"),
    "bad preset": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, preset: huge}\n",
        "phases[0].preset",
    ),
    "bad seed": ("challenges:\n  - id: lhco\n    phases:\n      - {name: public, seed: 42}\n", "phases[0].seed"),
    "bad limit": ("challenges:\n  - id: lhco\n    phases:\n      - {name: public, max_total: 0}\n", "max_total"),
    "limit too large for the database": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, max_total: 99999999999999999999999999}\n",
        "max_total: a whole number from 1 to",
    ),
    "infinite sandbox limit": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: {memory_mb: .inf}}\n",
        "phases[0].limits.memory_mb: a whole number",
    ),
    "NaN sandbox limit": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: {wall_seconds: .nan}}\n",
        "phases[0].limits.wall_seconds: a number",
    ),
    "sandbox limit too large": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: {output_mb: 10000000000000}}\n",
        "phases[0].limits.output_mb: at most",
    ),
    "unknown sandbox limit": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: {memory: 512}}\n",
        "phases[0].limits.memory: unknown limit",
    ),
    "sandbox limit not a number": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: {wall_seconds: soon}}\n",
        "phases[0].limits.wall_seconds: a number",
    ),
    "sandbox limits not a mapping": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public, limits: 3}\n",
        "phases[0].limits: expected a mapping",
    ),
    "twice": ("challenges:\n  - id: lhco\n    phases:\n      - {name: public}\n      - {name: public}\n", "twice"),
    "not yaml": ("challenges: [\n", "not valid YAML"),
    # The first phase is fine: nothing of it may be created when a later one is bad.
    "later phase bad": (
        "challenges:\n  - id: lhco\n    phases:\n      - {name: public}\n      - {name: hidden, hidden: maybe}\n",
        "phases[1].hidden",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_line_and_create_nothing(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hepbench.cli.output import console, err_console

    for printer in (console, err_console):  # the terminal's wrapping is not the message's
        monkeypatch.setattr(printer, "width", 400)
    text, field = BAD[case]
    result, home = _init(tmp_path, text)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "competition.yaml" in lines[0] and field in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert not home.exists()


def test_load_competition_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("challenges:\n  - id: lhco\n    phases: []\n")
    with pytest.raises(CompetitionError, match=r"c\.yaml: challenges\[0\]\.phases"):
        load_competition(config)


def test_the_documented_competition_file_is_valid(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "leaderboard.md").read_text()
    block = docs.split("```yaml\n# competition.yaml\n", 1)[1].split("```", 1)[0]
    secret = tmp_path / "secrets.json"
    secret.write_text(json.dumps({"data_seed": 7}))
    secret.chmod(0o600)
    config = tmp_path / "competition.yaml"
    config.write_text(block.replace("/root/secret/lhco-hidden-secrets.json", str(secret)))
    plans = load_competition(config)
    assert [(p.name, p.hidden, p.preset, p.seed_source) for p in plans] == [
        ("public", False, "tiny", "entropy"),
        ("hidden", True, "small", "secret-file"),
    ]
    assert plans[0].limits == {"memory_mb": 2048, "wall_seconds": 900.0}
    assert plans[0].end == plans[1].end == dt.datetime(2027, 3, 1, 12)


def test_preset_declares_every_challenge_with_a_public_and_a_hidden_phase(tmp_path: Path) -> None:
    """The phases and their preset only: the secret data are made by the first worker that needs
    them (tests/test_leaderboard_phases.py)."""
    from hepbench import challenges

    home = tmp_path / "lb"
    result = runner.invoke(app, ["leaderboard", "init", "--preset", "tiny", "--home", str(home)])
    assert result.exit_code == 0, result.output
    store = open_store(home, None)
    try:
        with store.transaction() as session:
            for challenge in challenges.all():
                for spec in challenge.phases:
                    row = get_phase(session, challenge.id, spec.slug)
                    assert row.hidden == spec.hidden
                    assert row.plan_path == str((home / "phases" / challenge.id / spec.slug / "organiser").resolve())
                    assert (row.data_preset, row.data_seed_source) == ("tiny", "entropy")
                    assert not Path(row.plan_path).exists()
    finally:
        store.close()


@pytest.mark.parametrize("args", [["--preset", "huge"], ["--preset", "tiny", "--config", "competition.yaml"]])
def test_preset_refusals_create_nothing(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "competition.yaml").write_text(COMPETITION)
    home = tmp_path / "lb"
    args = [str(tmp_path / a) if a.endswith(".yaml") else a for a in args]
    result = runner.invoke(app, ["leaderboard", "init", *args, "--home", str(home)])
    assert result.exit_code != 0 and "--" in result.output and "Traceback" not in result.output
    assert not home.exists()
