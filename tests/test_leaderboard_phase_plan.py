"""``leaderboard phase --plan`` checks the hidden truth before storing it, and ``--clear-plan`` forgets it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from sqlalchemy import select

from hepbench.challenges import get
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
from hepbench.leaderboard.models import PhaseRow
from hepbench.leaderboard.submissions import configure_phase, sync_challenges


def _plan_path(store) -> str | None:
    with store.transaction() as session:
        rows = session.scalars(select(PhaseRow)).all()
        return next(r.plan_path for r in rows if r.challenge.slug == "higgs-uncertainty" and r.slug == "public")


def test_a_bad_plan_is_refused_naming_the_file_and_a_good_one_can_be_cleared(store, tmp_path) -> None:
    sync_challenges(store)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.json: not JSON"):
        configure_phase(store, "higgs-uncertainty", "public", plan=broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"n_sets": 1}')
    with pytest.raises(ValueError, match=r"wrong.json: not a test plan \(field 'pseudo_experiments'"):
        configure_phase(store, "higgs-uncertainty", "public", plan=wrong)
    assert _plan_path(store) is None
    make_test_plan(1, 2, initial_seed=7).to_json(tmp_path / "plan.json")
    configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json")
    assert _plan_path(store) == str((tmp_path / "plan.json").resolve())
    with pytest.raises(ValueError, match="either --plan or --clear-plan"):
        configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json", clear_plan=True)
    configure_phase(store, "higgs-uncertainty", "public", clear_plan=True)
    assert _plan_path(store) is None


@pytest.fixture(scope="module")
def organiser_folders(tmp_path_factory) -> dict[str, Path]:
    """Organiser folders of the tiny lhco and calo phases (as `submission prepare` writes them)."""
    root = tmp_path_factory.mktemp("phases")
    folders = {}
    for challenge in ("lhco", "calo"):
        organiser = root / challenge / "organiser"
        get(challenge).write_inputs(root / challenge / "input", organiser, preset="tiny", seed=11)
        folders[challenge] = organiser
    return folders


@pytest.mark.parametrize("challenge", ["lhco", "calo"])
def test_lhco_and_calo_truth_is_checked_before_it_is_stored(store, tmp_path, organiser_folders, challenge) -> None:
    sync_challenges(store)
    good = organiser_folders[challenge]
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    if challenge == "lhco":
        data = (good / "truth.npz").read_bytes()
        (broken / "truth.npz").write_bytes(data[: len(data) // 2])
        fault = r"truth.npz: not a readable .npz file"
    else:
        reference = json.loads((good / "reference.json").read_text())
        (broken / "reference.json").write_text(json.dumps({**reference, "geometry": "ds7"}))
        fault = r"reference.json: field 'geometry': unknown geometry 'ds7'"
    (tmp_path / "empty").mkdir()
    cases = [(tmp_path / "empty", "not found"), (broken, fault)]
    if challenge == "lhco":
        inverted = tmp_path / "inverted"
        shutil.copytree(good, inverted)
        inputs = json.loads((good / "inputs.json").read_text())
        (inverted / "inputs.json").write_text(json.dumps({**inputs, "signal_region": [3.7, 3.3]}))
        cases.append((inverted, r"inputs.json: field 'signal_region' must be \[low, high\] in TeV, 0 < low < high"))
    for folder, message in cases:
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            configure_phase(store, challenge, "public", plan=folder)
    configure_phase(store, challenge, "public", plan=good)
    with store.transaction() as session:
        rows = session.scalars(select(PhaseRow)).all()
        assert next(r.plan_path for r in rows if r.challenge.slug == challenge and r.slug == "public") == str(
            good.resolve()
        )


def test_lhco_and_calo_payloads_are_checked_at_submission(tmp_path) -> None:
    """What scoring would refuse is refused when submitted, naming the file and the field."""
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"significance": 2.5, "mass": 3.5}))
    with pytest.raises(ValueError, match="answer.json: field 'mass_uncertainty' is required"):
        get("lhco").check_submission(answer)
    answer.write_text(json.dumps({"significance": 2.5, "mass": 3.5, "mass_uncertainty": 0.1}))
    get("lhco").check_submission(answer)
    for scores, match in (("../../etc/passwd", "must name a file beside the answer"), ("s.npy", "cannot carry")):
        answer.write_text(json.dumps({"significance": 2.5, "scores": scores}))
        with pytest.raises(ValueError, match=f"answer.json: field 'scores' ({match}|.*{match})"):
            get("lhco").check_submission(answer)
    table = tmp_path / "scores.csv"
    table.write_text("score\n0.1\n")
    for challenge in ("lhco", "calo"):
        with pytest.raises(ValueError, match=f"scores.csv: {challenge} takes a code bundle"):
            get(challenge).check_submission(table)
    showers = tmp_path / "showers.hdf5"
    with h5py.File(showers, "w") as handle:
        handle["incident_energies"] = np.ones((3, 1))
        handle["showers"] = np.ones((3, 368))
    get("calo").check_submission(showers)
    reference = tmp_path / "reference.hdf5"
    with h5py.File(reference, "w") as handle:
        handle["incident_energies"] = np.ones((3, 1))
        handle["showers"] = np.ones((3, 533))
    with pytest.raises(ValueError, match="showers.hdf5: dataset 'showers' has 368 voxels"):
        get("calo").check_submission(showers, reference)
    # a phase that runs the generator in the sandbox does not score an uploaded file
    with pytest.raises(ValueError, match="showers.hdf5: this phase runs the generator in the sandbox"):
        get("calo").check_submission(showers, tmp_path)
    with h5py.File(showers, "w") as handle:
        handle["incident_energies"] = np.ones((3, 1))
    with pytest.raises(ValueError, match="dataset 'showers' missing"):
        get("calo").check_submission(showers)


def test_a_higgs_plan_with_bad_rows_is_refused_naming_the_row(tmp_path) -> None:
    """A plan that would score against a wrong or missing mu_true is refused before it is stored."""
    make_test_plan(2, 2, initial_seed=7).to_json(tmp_path / "plan.json")
    good = json.loads((tmp_path / "plan.json").read_text())
    get("higgs-uncertainty").check_truth(tmp_path / "plan.json")
    rows = good["pseudo_experiments"]
    cases = (
        ([1, 2], "a JSON object with n_sets"),
        ({**good, "pseudo_experiments": [{**r, "mu_true": "x"} if i == 1 else r for i, r in enumerate(rows)]}, "row 1"),
        ({**good, "pseudo_experiments": [{**r, "mu_true": float("nan")} for r in rows]}, "row 0: mu_true must be"),
        ({**good, "pseudo_experiments": [{**r, "pe_index": 0} for r in rows]}, "row 1: set_index and pe_index repeat"),
        (
            {**good, "pseudo_experiments": [{k: v for k, v in r.items() if k != "mu_true"} for r in rows]},
            "missing: mu_true",
        ),
    )
    for payload, message in cases:
        (tmp_path / "bad.json").write_text(json.dumps(payload))
        with pytest.raises(ValueError, match=f"bad.json: .*{message}"):
            get("higgs-uncertainty").check_truth(tmp_path / "bad.json")
