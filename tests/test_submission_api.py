"""Participants submit over HTTP to a real `hepbench leaderboard serve` (uvicorn): tokens,
limits, size caps and one's own submissions; nothing is stored from a refused request."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.cli.main import app
from hepbench.leaderboard.client import ServerError, my_submissions, upload
from hepbench.leaderboard.db import open_store
from hepbench.leaderboard.identities import add_identity, revoke
from hepbench.leaderboard.queue import work
from hepbench.leaderboard.submissions import configure_phase, sync_challenges

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A leaderboard home with a phase that has hidden truth, served by uvicorn in its own process."""
    root = tmp_path_factory.mktemp("served")
    home, url = root / "home", f"sqlite:///{root / 'lb.db'}"
    store = open_store(home, url)
    sync_challenges(store)
    plan = make_test_plan(2, 2, initial_seed=9)
    plan.to_json(root / "plan.json")
    configure_phase(store, "higgs-uncertainty", "public", plan=root / "plan.json", max_total=2)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hepbench",
            "leaderboard",
            "serve",
            "--port",
            str(port),
            "--home",
            str(home),
            "--db",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    address = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{address}/api/challenges.json", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail(f"the server did not start: {server.stdout.read().decode()[-2000:]}")
    t = plan.table
    answers = root / "answers.csv"
    pd.DataFrame(
        {
            "set_index": t["set_index"],
            "pe_index": t["pe_index"],
            "mu_hat": t["mu_true"],
            "delta_mu_hat": 0.2,
            "p16": t["mu_true"] - 0.2,
            "p84": t["mu_true"] + 0.2,
        }
    ).to_csv(answers, index=False)
    try:
        yield {"address": address, "store": store, "root": root, "answers": answers}
    finally:
        server.terminate()
        server.wait(10)
        store.close()


def _stored(store) -> int:
    from sqlalchemy import func, select

    from hepbench.leaderboard.models import SubmissionRow

    with store.transaction() as session:
        return session.scalar(select(func.count(SubmissionRow.id)))


def test_a_participant_submits_over_http_and_sees_their_rank(served, tmp_path) -> None:
    store, address = served["store"], served["address"]
    _, token = add_identity(store, "Alice")
    out = tmp_path / "sent.json"
    result = runner.invoke(
        app,
        [
            "submit",
            "higgs-uncertainty",
            str(served["answers"]),
            "--method",
            "exact",
            "--server",
            address,
            "--json",
            str(out),
        ],
        env={"HEPBENCH_TOKEN": token},
    )
    assert result.exit_code == 0 and "queued" in result.output, result.output
    sid = json.loads(out.read_text())["submission"]
    [mine] = my_submissions(address, token)
    assert mine["id"] == sid and mine["state"] == "queued" and mine["participant"] == "Alice"
    assert work(store)["scored"] == 1
    [mine] = my_submissions(address, token)
    assert mine["state"] == "scored" and mine["rank"] == 1 and mine["metrics"]["coverage"]["value"] == 1.0
    status = runner.invoke(app, ["status", str(sid), "--server", address, "--token", token])
    assert status.exit_code == 0 and "scored" in status.output


def test_refused_requests_store_nothing(served, tmp_path) -> None:
    store, address, answers = served["store"], served["address"], served["answers"]
    before = _stored(store)
    with pytest.raises(ServerError, match="401"):
        upload(address, "higgs-uncertainty", "public", answers, method="m", token="not-a-token")
    _, token = add_identity(store, "Mallory")
    revoke(store, "mallory")
    with pytest.raises(ServerError, match="403.*revoked"):
        upload(address, "higgs-uncertainty", "public", answers, method="m", token=token)
    request = urllib.request.Request(
        f"{address}/api/challenges/higgs-uncertainty/public/submissions?method=m",
        data=answers.read_bytes(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request)
    assert err.value.code == 401
    bad = tmp_path / "bad.csv"
    bad.write_text("set_index,pe_index\n0,0\n")
    _, bob = add_identity(store, "Bob")
    with pytest.raises(ServerError, match=r"422.*missing column"):
        upload(address, "higgs-uncertainty", "public", bad, method="m", token=bob)
    assert _stored(store) == before
    assert not list((served["root"] / "home" / "uploads").glob("*"))


def test_limits_hold_for_the_identity_over_http(served, tmp_path) -> None:
    store, address = served["store"], served["address"]
    _, token = add_identity(store, "Carol")
    base = pd.read_csv(served["answers"])
    for i, width in enumerate((0.3, 0.4, 0.5)):
        path = tmp_path / f"a{i}.csv"
        base.assign(p16=base["mu_hat"] - width, p84=base["mu_hat"] + width, delta_mu_hat=width).to_csv(
            path, index=False
        )
        if i < 2:
            assert upload(address, "higgs-uncertainty", "public", path, method=f"w{i}", token=token)["created"]
        else:
            before = _stored(store)
            with pytest.raises(ServerError, match=r"429.*limit is 2 in total"):
                upload(address, "higgs-uncertainty", "public", path, method="w2", token=token)
            assert _stored(store) == before


@pytest.mark.slow
def test_a_code_folder_is_bundled_uploaded_run_in_the_sandbox_and_ranked(
    served, bwrap_backend, sandbox_runs, tmp_path
) -> None:
    """lhco: the organiser prepares a phase (secret inputs and truth), a participant sends the
    kit's template folder over HTTP, a worker runs it under bubblewrap and the one scorer ranks it."""
    store, address = served["store"], served["address"]
    unreachable = runner.invoke(app, ["submission", "prepare", "lhco", str(tmp_path / "phase"), "--preset", "tiny"])
    assert unreachable.exit_code == 1 and "cannot reach it" in unreachable.output
    phase_dir = sandbox_runs / "lhco-phase"
    prepared = runner.invoke(app, ["submission", "prepare", "lhco", str(phase_dir), "--preset", "tiny"])
    assert prepared.exit_code == 0, prepared.output
    configure_phase(store, "lhco", "public", plan=phase_dir / "organiser")
    code = tmp_path / "my-model"
    assert runner.invoke(app, ["submission", "init", "lhco", str(code)]).exit_code == 0
    _, token = add_identity(store, "Dana")
    sent = runner.invoke(
        app, ["submit", "lhco", str(code), "--method", "template", "--server", address], env={"HEPBENCH_TOKEN": token}
    )
    assert sent.exit_code == 0 and "bundled the folder" in sent.output and "queued" in sent.output, sent.output
    work(store, backend="bubblewrap")
    [mine] = my_submissions(address, token)
    assert mine["state"] == "scored" and mine["challenge"] == "lhco", mine["reason"]
    assert 0.0 <= mine["metrics"]["auc"]["value"] <= 1.0 and mine["metrics"]["max_sic"]["value"] > 0
    assert "sandbox.json" in [a["name"] for a in mine["artefacts"]]
    # A bundle that escapes its folder is refused at the door, and nothing is stored.
    import io
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("model.py", "../../etc/cron.d/evil"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    before = _stored(store)
    with pytest.raises(ServerError, match=r"422.*points outside the bundle"):
        upload(address, "lhco", "public", evil, method="evil", token=token)
    assert _stored(store) == before


@pytest.mark.slow
def test_an_image_tar_is_uploaded_run_in_docker_and_ranked(served, docker_host, sandbox_runs, tmp_path) -> None:
    """lhco: the kit's Dockerfile built by the participant, `docker save`d, uploaded, run by id."""
    from hepbench.submission_kit.runner import template_dir
    from hepbench.submission_kit.sandbox.container import build_image

    store, address, client = served["store"], served["address"], docker_host["client"]
    phase_dir = sandbox_runs / "lhco-image-phase"
    assert runner.invoke(app, ["submission", "prepare", "lhco", str(phase_dir), "--preset", "tiny"]).exit_code == 0
    configure_phase(store, "lhco", "hidden", plan=phase_dir / "organiser")
    built = build_image(client, template_dir("lhco"), "erin/lhco:1", {"BASE_IMAGE": docker_host["image"]})
    image_tar = tmp_path / "erin.tar"
    with open(image_tar, "wb") as handle:
        for chunk in client.images.get("erin/lhco:1").save(named="erin/lhco:1"):
            handle.write(chunk)
    client.images.remove("erin/lhco:1", noprune=True)
    _, token = add_identity(store, "Erin")
    try:
        answer = upload(address, "lhco", "hidden", image_tar, method="template image", token=token)
        assert answer["created"]
        work(store)
        [mine] = my_submissions(address, token)
        assert mine["state"] == "scored", mine["reason"]
        assert mine["metrics"] == {}  # a hidden phase: scores wait until it is revealed
        configure_phase(store, "lhco", "hidden", revealed=True)
        [mine] = my_submissions(address, token)
        assert mine["metrics"]["max_sic"]["value"] > 0
    finally:
        client.images.remove(built["image"], force=True, noprune=True)
