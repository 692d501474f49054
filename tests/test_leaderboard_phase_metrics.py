"""Calo multiclass on the leaderboard: the phase's classifier is retrained on the kept showers of
every scored submission whenever one more is scored, and each row gets its log posterior."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model
from hepbench.leaderboard import queue
from hepbench.leaderboard.pages import phase_page, submission_json
from hepbench.leaderboard.phase_metrics import kept_folder
from hepbench.leaderboard.ranking import board
from hepbench.leaderboard.scoring import score_payload
from hepbench.leaderboard.submissions import configure_phase, submit


def _outputs_scorer(tmp_path: Path):
    """The worker's scorer on a participant's showers file: as the sandbox leaves them, a folder
    holding ``showers.npy``."""

    def scorer(challenge, payload, plan, label):
        folder = tmp_path / "outputs" / Path(payload).stem
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(payload, folder / "showers.npy")
        return score_payload(challenge, folder, plan, label)

    return scorer


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_multiclass_is_recomputed_for_every_row_when_a_second_calo_submission_is_scored(
    store, tmp_path, monkeypatch
) -> None:
    from hepbench.challenges import get

    organiser = tmp_path / "organiser"
    get("calo").write_inputs(tmp_path / "input", organiser, preset="tiny", seed=11)
    configure_phase(store, "calo", "public", plan=organiser)
    energies = np.load(tmp_path / "input" / "generate" / "incident_energies.npy")
    simulator = GFlashSimulator(detector_model("ds1-photons"), seed=12)
    faithful = simulator.sample(energies).astype(np.float32)  # an independent reference sample
    scaled = (faithful * 1.6).astype(np.float32)  # 60% too much energy
    paths = {}
    for name, showers in (("faithful", faithful), ("scaled", scaled)):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], showers)
    scorer = _outputs_scorer(tmp_path)
    # The scorer stands in for the sandbox: the payload is the showers.npy a sandboxed run writes,
    # which a participant could not upload as it is.
    monkeypatch.setattr("hepbench.leaderboard.submissions.check_payload", lambda *args: None)

    first = submit(store, "calo", "public", "ann", "faithful", paths["faithful"]).submission_id
    claim = queue.claim_next(store)
    assert queue.score_claim(store, claim, scorer=scorer) == "scored"
    assert (kept_folder(store, first) / "showers.npy").is_file()
    [entry] = board(store, "calo", "public").ranked
    assert entry.metrics["multiclass_log_posterior"] == (None, None)  # undefined with one submission
    page = phase_page(store, "calo", "public").content.decode()
    assert "nan" not in page and "undefined (–) while fewer than two are scored" in page

    second = submit(store, "calo", "public", "bob", "scaled", paths["scaled"]).submission_id
    claim = queue.claim_next(store)
    assert queue.score_claim(store, claim, scorer=scorer) == "scored"
    values = {e.submission_id: e.metrics["multiclass_log_posterior"][0] for e in board(store, "calo", "public").ranked}
    assert set(values) == {first, second} and all(v is not None and v <= 0 for v in values.values())
    # the reference showers look like the faithful submission, not like the scaled one
    assert values[first] > np.log(0.5) > values[second]
    for sid in (first, second):
        # Measured on the phase's held-out reference showers: hidden until the phase is revealed.
        artefacts = {a["name"] for a in json.loads(submission_json(store, sid).content)["artefacts"]}
        assert not {"multiclass.json", "multiclass.png"} & artefacts
        assert not (store.path(f"artefacts/{sid}") / "showers.npy").exists()  # kept on the organiser's side only
    configure_phase(store, "calo", "public", revealed=True)
    for sid in (first, second):
        artefacts = {a["name"] for a in json.loads(submission_json(store, sid).content)["artefacts"]}
        assert {"multiclass.json", "multiclass.png"} <= artefacts
    matrix = json.loads(store.path(f"artefacts/{first}/multiclass.json").read_text())
    assert len(matrix["names"]) == 2 and np.array(matrix["matrix"]).shape == (2, 2)
    assert matrix["log_posterior"][matrix["names"][0]] == pytest.approx(values[first])
    page = phase_page(store, "calo", "public").content.decode()
    assert f"{values[first]:.2f}" in page and f"{values[second]:.2f}" in page


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_calo_baseline_record_shows_its_generation_time_per_shower(store, tmp_path) -> None:
    """The `ms / shower` column: a baseline record's `ms_per_shower` (the same quantity a
    sandboxed submission's timing.json gives) is stored and shown on the phase's page."""
    configure_phase(store, "calo", "public")
    metrics = {"auc_low": 0.61, "auc_high": 0.58, "fpd": 0.012, "kpd": 2e-4, "separation_power_mean": 0.03}
    record = {
        "record_version": 1,
        "challenge": "calo",
        "method": "flow",
        "metrics": {**metrics, "ms_per_shower": 0.0473},
    }
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(record))
    submit(store, "calo", "public", "ann", "flow", path, is_baseline=True)
    assert queue.score_claim(store, queue.claim_next(store)) == "scored"
    [entry] = board(store, "calo", "public").ranked
    assert entry.metrics["ms_per_shower"] == (pytest.approx(0.0473), None)
    page = phase_page(store, "calo", "public").content.decode()
    assert "ms / shower" in page and "0.0473" in page and "timed inside its sandbox" in page
