"""The participant loop end to end, as an organiser and two participants would run it.

A real ``hepbench leaderboard serve`` (uvicorn) and ``hepbench leaderboard work`` run as their
own processes: the whole loop on PostgreSQL, the README walk-through on SQLite. For each
challenge one participant sends the kit's template folder (bundled by ``hepbench submit``, run
under bubblewrap) and the other an image tar (``docker save`` of the template built
``FROM hepbench/submission-base:bookworm``, run in docker); the one scorer scores both and
chromium sees them ranked on the phase's page. Refused requests (no token, a revoked token, over
the limit under a respelled name) store nothing.
``submission_kit/README.md``'s participant walk-through is run as written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hepbench import challenges
from hepbench.leaderboard.testing import free_port
from hepbench.submission_kit.runner import prepare_inputs, template_dir
from hepbench.submission_kit.sandbox.workspace import make_run_root

pytestmark = pytest.mark.slow  # about two minutes: six sandboxed runs and a browser

REPO = Path(__file__).resolve().parents[1]
CHALLENGES = ("higgs-uncertainty", "lhco", "calo")
ARTIFACTS = REPO / "tests" / "artifacts" / "participant-loop"
HEPBENCH = [sys.executable, "-m", "hepbench"]


def cli(*args: str, env: dict[str, str] | None = None, ok: bool = True, timeout: float = 600) -> str:
    """Run ``hepbench ARGS`` in its own process; its stdout and stderr (asserting the exit status)."""
    done = subprocess.run(
        [*HEPBENCH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    output = done.stdout + done.stderr
    assert (done.returncode == 0) == ok, f"hepbench {' '.join(args)} -> {done.returncode}:\n{output[-3000:]}"
    return output


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def phase_folders(sandbox_runs, input_data) -> dict[str, Path]:
    """Each challenge's secret phase data (validate-sized, seeds from OS entropy), where the
    sandbox user can read the inputs; shared by both stores. HiggsML draws its secret test plan
    from the session's tiny data folder (generating secret data takes a minute)."""
    out = {}
    for challenge in CHALLENGES:
        root = make_run_root(sandbox_runs, prefix=f"loop-{challenge}-")
        options = {**challenges.get(challenge).validate_options, **input_data.get(challenge, {})}
        _, organiser_dir, _ = prepare_inputs(challenge, root, **options)
        out[challenge] = organiser_dir
    return out


@pytest.fixture(scope="module")
def image_tars(docker_host, tmp_path_factory) -> dict[str, Path]:
    """The kit's template of each challenge as a participant's image: built FROM the offline
    base image, saved with ``docker save``, its tag then removed (the worker refuses a tar whose
    tag names an image it already has)."""
    from hepbench.submission_kit.sandbox.container import build_image

    client, folder = docker_host["client"], tmp_path_factory.mktemp("images")
    out = {}
    for challenge in CHALLENGES:
        tag = f"bob/{challenge}:1"
        built = build_image(client, template_dir(challenge), tag, {"BASE_IMAGE": docker_host["image"]})
        out[challenge] = folder / f"{challenge}.tar"
        with open(out[challenge], "wb") as handle:
            for chunk in client.images.get(tag).save(named=tag):
                handle.write(chunk)
        client.images.remove(tag, noprune=True)
        assert built["image"]
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """A leaderboard home with each challenge's public phase set up from its secret data,
    served by ``hepbench leaderboard serve`` on a free port."""
    root = tmp_path_factory.mktemp(f"loop-{request.param}")
    home, database = root / "home", None
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'lb.db'}"
    else:
        pg = request.getfixturevalue("postgres_server")
        database = pg.create_database()
        url = pg.url(database)
    store_args = ["--home", str(home), "--db", url]
    cli("leaderboard", "init", *store_args)
    port = free_port()
    proc = subprocess.Popen(
        [*HEPBENCH, "leaderboard", "serve", "--port", str(port), *store_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get_json(f"{address}/api/challenges.json")
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited: {proc.stderr.read().decode()[-2000:]}") from None
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.2)
    try:
        yield {"address": address, "store_args": store_args, "kind": request.param, "home": home}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
        if database is not None:
            pg.drop_database(database)


@pytest.fixture(scope="module")
def browser(chromium_path):
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium_path), args=["--no-sandbox"])
        yield launched
        launched.close()


def add_participant(served, name: str, ok: bool = True) -> str:
    """``hepbench leaderboard participant add NAME``: the token it prints once (its last line)."""
    output = cli("leaderboard", "participant", "add", name, *served["store_args"], ok=ok)
    return output.strip().splitlines()[-1].strip()


def stored_submissions(served) -> int:
    """Submissions in the store, counted by the organiser's own listing of every phase."""
    listing = get_json(f"{served['address']}/api/challenges.json")["challenges"]
    return sum(p["submissions"] + p["baselines"] for c in listing for p in c["phases"])


def test_every_challenge_takes_code_and_images_from_two_participants(
    served, phase_folders, image_tars, bwrap_backend, browser, tmp_path
) -> None:
    if served["kind"] != "postgresql":
        # Two minutes a store: run on PostgreSQL, the store a public deployment uses; SQLite serves
        # the README walk-through below and the API tests (test_submission_api).
        pytest.skip("the whole loop runs once, on PostgreSQL")
    address, store_args = served["address"], served["store_args"]
    for challenge, organiser in phase_folders.items():
        cli("leaderboard", "phase", challenge, "public", "--truth", str(organiser), "--max-total", "2", *store_args)
    alice, bob = add_participant(served, "Alice"), add_participant(served, "Bob")
    sent: dict[int, tuple[str, str]] = {}
    for challenge in CHALLENGES:
        code = tmp_path / f"alice-{challenge}"
        cli("submission", "init", challenge, str(code))
        for who, token, method, payload in (
            ("Alice", alice, "template code", code),
            ("Bob", bob, "template image", image_tars[challenge]),
        ):
            out = tmp_path / f"{who}-{challenge}.json"
            text = cli(
                "submit", challenge, str(payload), "--method", method, "--server", address, "--token", token,
                "--json", str(out),
            )  # fmt: skip
            assert "queued" in text, text
            sent[json.loads(out.read_text())["submission"]] = (challenge, who)
    worked = cli("leaderboard", "work", "--backend", "bubblewrap", *store_args, timeout=900)
    assert "scored 6" in worked and "failed 0" in worked, worked

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for challenge in CHALLENGES:
        board = get_json(f"{address}/api/challenges/{challenge}/public.json")
        assert not board["pending"], board["pending"]
        entries = board["entries"]
        assert sorted((e["participant"], e["method"]) for e in entries) == [
            ("Alice", "template code"),
            ("Bob", "template image"),
        ]
        primary = board["ranking"][0]
        values = [e["metrics"][primary["name"]]["value"] for e in entries]
        assert values == sorted(values, reverse=primary["higher_is_better"]), values  # best first
        assert [e["rank"] for e in entries][0] == 1
        for e in entries:  # the worker's sandbox ran it: code under bubblewrap, the image in docker
            sandbox = get_json(f"{address}/submissions/{e['submission']}/sandbox.json")
            assert sandbox["backend"] == ("bubblewrap" if e["participant"] == "Alice" else "docker"), sandbox
            assert sent[e["submission"]] == (challenge, e["participant"])

        page.goto(f"{address}/index.html")
        page.click(f"a[href='challenges/{challenge}/public.html']")
        page.wait_for_selector("#leaderboard")
        rows = page.locator("#leaderboard tbody tr")
        assert rows.count() == 2
        shown = [
            (rows.nth(i).locator("td.rank").inner_text(), rows.nth(i).locator("td.method a").inner_text())
            for i in range(2)
        ]
        assert shown == [(str(e["rank"]), e["method"]) for e in entries]
        assert "–" not in rows.first.locator("td.primary").inner_text()  # the primary metric is a number
        heading = page.locator("h1").inner_text()
        assert heading == challenges.get(challenge).title
        if challenge != "higgs-uncertainty":  # each page has its own text
            assert not re.search(r"pseudo-experiment|coverage|\bmu\b", page.locator("main").inner_text(), re.I)
        page.screenshot(path=str(ARTIFACTS / f"{served['kind']}-{challenge}.png"), full_page=True)
        # Plots derived from the truth wait until the organiser closes the phase.
        page.click(f"#leaderboard >> text={entries[0]['method']}")
        page.wait_for_selector("#metrics")
        assert page.locator(".plots img").count() == 0
    for challenge in CHALLENGES:
        cli("leaderboard", "phase", challenge, "public", "--reveal", *store_args)
    expected = {
        "higgs-uncertainty": {"coverage_per_set.png", "intervals.png"},
        "lhco": {"sic_curve.png"},
        # With two scored calo submissions the phase's multiclass heat map is there too.
        "calo": {"features_e.png", "features_ec_r.png", "features_width_r.png", "multiclass.png"},
    }
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    small = phone.new_page()
    for challenge in CHALLENGES:
        board = get_json(f"{address}/api/challenges/{challenge}/public.json")
        page.goto(f"{address}/{board['entries'][0]['page']}")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        sources = page.eval_on_selector_all(".plots img", "els => els.map(e => e.getAttribute('src'))")
        assert {src.rsplit("/", 1)[1] for src in sources} == expected[challenge]
        widths = page.eval_on_selector_all(".plots img", "els => els.map(e => e.naturalWidth)")
        assert all(w > 100 for w in widths), widths  # the PNGs really loaded
        page.screenshot(path=str(ARTIFACTS / f"{served['kind']}-{challenge}-submission.png"), full_page=True)
        # On a phone the primary metric is on screen, also with the table scrolled to its end.
        small.goto(f"{address}/challenges/{challenge}/public.html")
        small.locator(".scroll").first.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        for cell in (small.locator("#leaderboard th.primary"), small.locator("#leaderboard td.primary").first):
            box = cell.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    phone.close()
    page.close()

    # Alice's second lhco submission is taken, her third is over the limit of 2 in total; a
    # respelled name does not give her a second identity, and without a token, or with a revoked
    # one, nothing is taken.
    code = tmp_path / "alice-lhco"
    assert "queued" in cli("submit", "lhco", str(code), "--method", "second", "--server", address, "--token", alice)
    before = stored_submissions(served)
    assert "already" in cli("leaderboard", "participant", "add", "alice\u200b", *store_args, ok=False)
    refused = cli("submit", "lhco", str(code), "--method", "again", "--server", address, "--token", alice, ok=False)
    assert "429" in refused and "limit is 2 in total" in refused, refused
    refused = cli("submit", "lhco", str(code), "--method", "m", "--server", address, "--token", "not-a-token", ok=False)
    assert "401" in refused, refused
    cli("leaderboard", "participant", "revoke", "bob", *store_args)
    refused = cli("submit", "calo", str(code), "--method", "m", "--server", address, "--token", bob, ok=False)
    assert "403" in refused and "revoked" in refused, refused
    assert stored_submissions(served) == before


def readme_walkthrough() -> str:
    """The bash block of ``submission_kit/README.md`` that goes from ``submission init`` to a rank."""
    text = (REPO / "submission_kit" / "README.md").read_text()
    section = text.split("### From `submission init` to your rank", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_kit_readme_walks_a_participant_to_their_rank(served, phase_folders, bwrap_backend, tmp_path) -> None:
    """The participant's commands exactly as the README gives them, while a worker serves the queue."""
    if served["kind"] != "sqlite":
        pytest.skip("the walk-through is the same on every store; run once")
    store_args = served["store_args"]
    cli("leaderboard", "phase", "lhco", "public", "--truth", str(phase_folders["lhco"]), *store_args)
    token = add_participant(served, "Carol")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "hepbench").write_text(f'#!/bin/sh\nexec {sys.executable} -m hepbench "$@"\n')
    (tools / "hepbench").chmod(0o755)
    worker = subprocess.Popen(
        [*HEPBENCH, "leaderboard", "work", "--forever", "--backend", "bubblewrap", *store_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = {
            **os.environ,
            "PATH": f"{tools}:{os.environ['PATH']}",
            "HEPBENCH_SERVER": served["address"],
            "HEPBENCH_TOKEN": token,
            "COLUMNS": "200",
        }
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_walkthrough()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()
    row = next(line for line in reversed(last) if "my-first-model" in line)
    assert "scored" in row and re.search(r"│\s*\d+\s*│\s*$", row), done.stdout[-2000:]
