"""``hepbench data export --unbinned``: the exported files of a tiny data set, read back through
``read_unbinned``, reproduce each challenge's systematic variations."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from hepbench import challenges
from hepbench.challenges.export import export_unbinned, read_unbinned
from hepbench.challenges.higgs_uncertainty.presets import PRESETS
from hepbench.datafiles import DataFileError, read_table


@pytest.mark.slow
def test_higgs_variations_round_trip_to_float_precision(tmp_path, higgs_tiny_dir) -> None:
    from hepbench.challenges.higgs_uncertainty.systematics import NuisanceParameters, systematics
    from hepbench.challenges.higgs_uncertainty.unbinned import SOFT_MET_SEED

    data_dir = higgs_tiny_dir
    manifest = export_unbinned(
        challenges.get("higgs-uncertainty"),
        preset="tiny",
        seed=5,
        data_dir=data_dir,
        out=tmp_path / "export",
        replicas=4,
        sets=["train"],
        progress=False,
    )
    assert manifest["luminosity_fb"] == PRESETS["tiny"].luminosity_fb and manifest["generator_version"]
    export = read_unbinned(tmp_path / "export")
    train = export.sets["train"]
    frame = read_table(data_dir / "train.parquet").reset_index(drop=True)
    stacked = train.stacked()
    k = len(train.features)
    assert stacked.shape == (1 + 11, len(frame), k + 1)
    kinds = {v["name"]: v["kind"] for v in train.entry["variations"]}
    assert kinds["tes_up"] == "feature" and kinds["ttbar_scale_up"] == "weight"

    column = train.features.index("DER_mass_vis")
    bins = np.linspace(0, 250, 26)
    for name, nuisances in (
        ("tes_up", NuisanceParameters(tes=1.01)),
        ("jes_down", NuisanceParameters(jes=0.99)),
        ("soft_met", NuisanceParameters(soft_met=1.0)),
        ("diboson_scale_up", NuisanceParameters(diboson_scale=1.25)),
    ):
        features, weights = train.events(name)
        exported, _ = np.histogram(features[:, column], bins=bins, weights=weights)
        shifted = systematics(frame, nuisances, seed=SOFT_MET_SEED)
        expected, _ = np.histogram(shifted["DER_mass_vis"], bins=bins, weights=shifted["weights"])
        np.testing.assert_allclose(exported, expected, rtol=1e-5, err_msg=name)
        assert len(weights) == len(shifted)
    # A weight variation keeps the nominal's events and features; a feature variation keeps the
    # weight of every event it selects.
    nominal, up = train.array("nominal"), train.array("ttbar_scale_up")
    np.testing.assert_array_equal(up[:, :-1], nominal[:, :-1])
    ttbar = nominal[:, train.features.index("process")] == 2
    np.testing.assert_allclose(up[ttbar, -1], 1.02 * nominal[ttbar, -1], rtol=1e-6)
    tes = train.array("tes_up")
    both = (tes[:, -1] > 0) & (nominal[:, -1] > 0)
    np.testing.assert_array_equal(tes[both, -1], nominal[both, -1])
    assert (tes[:, -1] > 0).sum() != (nominal[:, -1] > 0).sum()  # the shift moves events across the cuts
    replicas = train.replicas()
    assert replicas.shape == (len(frame), 4) and abs(replicas.mean() - 1) < 0.02

    # A changed file is refused, naming it.
    path = tmp_path / "export" / "train" / "jes_up.h5"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(DataFileError, match="jes_up.h5: sha256 differs"):
        train.array("jes_up")


def test_lhco_export_cli_and_reader(tmp_path) -> None:
    from hepbench.challenges.lhco.systematics import Systematics, apply_systematics

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "hepbench", "data", "export", "lhco", "--unbinned", str(tmp_path / "out"),
         "--preset", "tiny", "--seed", "6", "--data", str(tmp_path / "data"), "--replicas", "2", "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = yaml.safe_load((tmp_path / "out" / "manifest.yaml").read_text())
    assert (manifest["challenge"], manifest["preset"], manifest["seed"]) == ("lhco", "tiny", 6)
    assert [s["name"] for s in manifest["sets"]] == ["data", "background_reference", "labelled", "test"]
    for entry in manifest["sets"]:
        for variation in entry["variations"]:
            assert {"name", "kind", "size", "file", "sha256"} <= set(variation)
    labelled = read_unbinned(tmp_path / "out").sets["labelled"]
    frame = read_table(tmp_path / "data" / "labelled.parquet").reset_index(drop=True)
    features, weights = labelled.events("jet_energy_scale_up")
    assert np.all(weights == 1.0)
    bins = np.linspace(2.0, 6.0, 41)
    exported, _ = np.histogram(features[:, labelled.features.index("mjj")], bins=bins)
    expected, _ = np.histogram(apply_systematics(frame, Systematics(jet_energy_scale=1.01))["mjj"], bins=bins)
    np.testing.assert_array_equal(exported, expected)
    assert labelled.replicas().shape == (len(frame), 2)
    # A refused export (an unknown set) leaves nothing behind.
    refused = subprocess.run(
        [sys.executable, "-m", "hepbench", "data", "export", "lhco", "--unbinned", str(tmp_path / "refused"),
         "--preset", "tiny", "--seed", "6", "--data", str(tmp_path / "data"), "--set", "data", "--set", "bogus",
         "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert refused.returncode == 1 and "unknown data set(s) ['bogus']" in refused.stdout + refused.stderr
    assert not (tmp_path / "refused").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["manifest.yaml", *(s["name"] for s in manifest["sets"])]
    )  # no staging folder left in a finished export


def test_unknown_set_is_refused_before_any_set_is_read(tmp_path, monkeypatch) -> None:
    spec = challenges.get("lhco")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(type(spec), "is_generated", lambda self, folder: True)

    def unread() -> None:
        raise AssertionError("a data set was read before the unknown name was refused")

    monkeypatch.setattr(type(spec), "unbinned_sets", lambda self, folder: {"data": unread, "test": unread})
    with pytest.raises(ValueError, match=r"unknown data set\(s\) \['bogus'\]; lhco has \['data', 'test'\]"):
        export_unbinned(
            spec, preset="tiny", seed=6, data_dir=tmp_path / "data", out=tmp_path / "out",
            sets=["data", "bogus"], progress=False,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_calo_detector_variations_resimulate_the_same_showers(tmp_path) -> None:
    spec = challenges.get("calo")
    spec.ensure_data("tiny", 1, tmp_path / "data")
    export_unbinned(
        spec, preset="tiny", seed=1, data_dir=tmp_path / "data", out=tmp_path / "out",
        sets=["ds1-photons_train"], progress=False,
    )  # fmt: skip
    showers = read_unbinned(tmp_path / "out").sets["ds1-photons_train"]
    nominal, up = showers.array("nominal"), showers.array("energy_scale_up")
    np.testing.assert_array_equal(nominal[:, 0], up[:, 0])  # the same incident energies
    ratio = up[:, 1:-1].sum() / nominal[:, 1:-1].sum()
    assert ratio == pytest.approx(1.01, rel=2e-3)
    deeper = showers.array("x0_down")
    assert not np.array_equal(deeper[:, 1:-1], nominal[:, 1:-1])
