"""docs/leaderboard.md's organiser walk-through, run as written: from ``competition.yaml`` to a
running competition (init --config, participant add, serve, work), a participant's submission
scored under bubblewrap, then the organiser's changes, reveal, table and static site.

The doc's three command blocks run unchanged except for the port (a free one instead of 8000);
its competition file runs with the dates moved around today, tiny data for both phases and a
seed file of this test's own."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hepbench.leaderboard.testing import free_port
from hepbench.submission_kit.sandbox.workspace import make_run_root

pytestmark = pytest.mark.slow  # about 40 s: two phases' tiny data, one sandboxed run, a server

DOC = Path(__file__).resolve().parents[1] / "docs" / "leaderboard.md"
SECTION = "### From `competition.yaml` to a running competition"


def doc_blocks() -> tuple[str, list[str]]:
    """The doc's competition file and the bash blocks of its walk-through, in order."""
    text = DOC.read_text()
    competition = text.split("```yaml\n# competition.yaml\n", 1)[1].split("```", 1)[0]
    section = text.split(SECTION, 1)[1].split("\n### ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```bash\n")[1:]]
    return competition, blocks


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(what: str, check, timeout: float, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, (
            f"{what} within {timeout:g} s; the organiser's log:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.5)


def test_the_organiser_walkthrough_runs_as_written(bwrap_backend, sandbox_runs, tmp_path) -> None:
    competition, blocks = doc_blocks()
    assert len(blocks) == 3, blocks
    work = make_run_root(sandbox_runs, prefix="walkthrough-")  # lb/ under it: the sandbox user reads the inputs
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    seed_file = tmp_path / "lhco-hidden-secrets.json"
    seed_file.write_text(json.dumps({"data_seed": secrets.randbits(31)}))
    seed_file.chmod(0o600)
    competition = re.sub(r"start: \S+", f"start: {(now - dt.timedelta(days=1)).isoformat()}", competition)
    competition = re.sub(r"end: \S+", f"end: {(now + dt.timedelta(days=30)).isoformat()}", competition)
    competition = competition.replace("preset: small", "preset: tiny")
    competition = competition.replace("/root/secret/lhco-hidden-secrets.json", str(seed_file))
    (work / "competition.yaml").write_text(competition)

    port = free_port()
    blocks = [block.replace("8000", str(port)) for block in blocks]
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "hepbench").write_text(f'#!/bin/sh\nexec {sys.executable} -m hepbench "$@"\n')
    (tools / "hepbench").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEPBENCH_")}
    env.update(PATH=f"{tools}:{env['PATH']}", COLUMNS="200")
    address = f"http://127.0.0.1:{port}"

    log = tmp_path / "organiser.log"
    with open(log, "w") as out:  # the organiser's block leaves serve and work running: a session of their own
        organiser = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", blocks[0]],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert organiser.wait(timeout=300) == 0, log.read_text()[-3000:]
        assert "created" in log.read_text() and len((work / "alice.token").read_text().strip()) > 20
        wait_for("serve answers", lambda: get_json(f"{address}/api/challenges.json"), 60, log)

        def run(block: str) -> str:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            return done.stdout

        participant = run(blocks[1])
        assert "queued" in participant and "my-cwola" in participant, participant

        def scored() -> bool:
            board = get_json(f"{address}/api/challenges/lhco/public.json")
            failed = [e for e in board["pending"] if e["state"] == "failed"]
            assert not failed, failed
            return [e["method"] for e in board["entries"]] == ["my-cwola"]

        wait_for("the worker scores the submission", scored, 300, log)
        organiser_end = run(blocks[2])
        row = next(line for line in organiser_end.splitlines() if "my-cwola" in line)
        assert "scored" in row and "Alice Smith" in row, organiser_end
        assert (work / "site" / "index.html").is_file()
        phases = get_json(f"{address}/api/challenges.json")["challenges"]
        lhco = {p["slug"]: p for c in phases if c["slug"] == "lhco" for p in c["phases"]}
        assert lhco["hidden"]["visible"] and lhco["public"]["window"]["state"] == "open"
    finally:
        try:
            os.killpg(organiser.pid, signal.SIGTERM)  # the serve and work this test started
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                os.killpg(organiser.pid, 0)
                time.sleep(0.2)
            os.killpg(organiser.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
