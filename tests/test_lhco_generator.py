"""LHCO generator, systematics and data-set files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepbench.challenges.lhco import generator
from hepbench.challenges.lhco.dataset import generate_dataset, load_dataset, load_inputs
from hepbench.challenges.lhco.generator import SignalModel, generate_events
from hepbench.challenges.lhco.schema import COLUMNS, LABEL, SIGNAL_REGION
from hepbench.challenges.lhco.systematics import Systematics, apply_systematics
from hepbench.datafiles import DataFileError


def test_same_seed_same_events_and_chunks_are_independent(monkeypatch) -> None:
    a = generate_events(25_000, 500, seed=3)
    pd.testing.assert_frame_equal(a, generate_events(25_000, 500, seed=3))
    assert not a.equals(generate_events(25_000, 500, seed=4))
    # Chunk k's events do not depend on how many chunks there are.
    monkeypatch.setattr(generator, "CHUNK_EVENTS", 10_000)
    first = generate_events(10_000, 0, seed=3)
    more = generate_events(25_000, 0, seed=3)
    pd.testing.assert_frame_equal(more.iloc[:10_000], first)


def test_chunks_on_a_dask_client_match_serial(monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(generator, "CHUNK_EVENTS", 5_000)
    serial = generate_events(12_000, 3_000, seed=8)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        parallel = generate_events(12_000, 3_000, seed=8, client=client)
    pd.testing.assert_frame_equal(serial, parallel)


def test_background_shapes() -> None:
    bkg = generate_events(100_000, 0, seed=1)
    assert list(bkg.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert (bkg[["pt_j1", "pt_j2"]].max(axis=1) > generator.TRIGGER_PT).all()
    assert (bkg["mj1"] <= bkg["mj2"]).all() and (bkg["delta_m"] >= 0).all()
    # Falling mjj above the trigger turn-on (real R&D: median 2.98 TeV, 13% in the SR).
    assert 2.7 < bkg["mjj"].median() < 3.3
    counts, _ = np.histogram(bkg["mjj"], bins=np.arange(3.0, 6.01, 0.5))
    assert (np.diff(counts) < 0).all()
    in_sr = bkg["mjj"].between(*SIGNAL_REGION)
    assert 0.08 < in_sr.mean() < 0.2
    # tau21 falls with jet mass, as in the real jets.
    heavy = bkg["mj2"] > bkg["mj2"].quantile(0.8)
    assert bkg.loc[heavy, "tau21_j2"].median() < bkg.loc[~heavy, "tau21_j2"].median() - 0.1


def test_signal_shapes_follow_the_masses() -> None:
    sig = generate_events(0, 20_000, seed=2)
    assert (sig[LABEL] == 1).all()
    assert sig["mjj"].median() == pytest.approx(3.5, abs=0.1)
    assert sig["mj1"].median() == pytest.approx(0.1, abs=0.02)
    assert sig["mj2"].median() == pytest.approx(0.5, abs=0.04)
    other = generate_events(0, 20_000, seed=2, signal=SignalModel(m_wprime=4.5, m_x=0.3, m_y=0.2))
    assert other["mjj"].median() == pytest.approx(4.5, abs=0.15)
    assert other["mj2"].median() == pytest.approx(0.3, abs=0.03)
    with pytest.raises(ValueError, match="n_signal"):
        generate_events(10, -1, seed=0)


def test_systematics() -> None:
    frame = generate_events(2_000, 0, seed=5)
    shifted = apply_systematics(frame, Systematics(jet_energy_scale=1.05, jet_mass_scale=0.9, tau21_shift=-0.1))
    np.testing.assert_allclose(shifted["mjj"], 1.05 * frame["mjj"])
    np.testing.assert_allclose(shifted["mj1"], 0.9 * frame["mj1"])
    np.testing.assert_allclose(shifted["delta_m"], 0.9 * frame["delta_m"])
    np.testing.assert_allclose(shifted["tau21_j1"], np.maximum(frame["tau21_j1"] - 0.1, 0.0))
    correlated = apply_systematics(frame, Systematics(mass_mjj_correlation=0.1))
    np.testing.assert_allclose(correlated["mj1"], frame["mj1"] + 0.1 * frame["mjj"])
    np.testing.assert_allclose(correlated["delta_m"], frame["delta_m"] + 0.1 * frame["mjj"])
    assert frame["mj1"].corr(frame["mjj"]) < 0.5 < correlated["mj1"].corr(correlated["mjj"])
    with pytest.raises(ValueError, match="jet_energy_scale"):
        Systematics(jet_energy_scale=0.0)


def test_dataset_files_roundtrip(tmp_path) -> None:
    data_dir, truth_dir = tmp_path / "public", tmp_path / "organiser"
    made = generate_dataset("tiny", seed=4, out_dir=data_dir, truth_dir=truth_dir)
    assert sorted(p.name for p in data_dir.glob("*.parquet")) == [
        "background_reference.parquet",
        "data.parquet",
        "labelled.parquet",
    ]
    assert sorted(p.name for p in truth_dir.glob("*.parquet")) == ["data_truth.parquet", "test.parquet"]
    inputs = load_inputs(data_dir)
    assert list(inputs.data.columns) == list(COLUMNS)  # no label in what a detector sees
    assert made.n_signal == 30 and len(inputs.data) == 30_030
    # Signal is not at the end of the file: rows are shuffled.
    positions = np.flatnonzero(made.data_truth.to_numpy())
    assert positions.min() < 25_000
    loaded = load_dataset(data_dir, truth_dir)
    pd.testing.assert_frame_equal(loaded.test, made.test)
    assert loaded.test["mjj"].between(*SIGNAL_REGION).all()
    assert loaded.test[LABEL].value_counts().to_dict() == {0: 10_000, 1: 2_000}
    again = generate_dataset("tiny", seed=4)
    pd.testing.assert_frame_equal(again.inputs.data, made.inputs.data)
    (data_dir / "data.parquet").write_bytes(b"broken")
    with pytest.raises(DataFileError, match="data.parquet"):
        load_inputs(data_dir)


def test_shift_applies_to_observed_files_only() -> None:
    nominal = generate_dataset("tiny", seed=6, n_signal=0)
    shifted = generate_dataset("tiny", seed=6, n_signal=0, shift=Systematics(jet_mass_scale=1.1))
    assert nominal.n_signal == 0
    np.testing.assert_allclose(shifted.inputs.data["mj1"], 1.1 * nominal.inputs.data["mj1"])
    pd.testing.assert_frame_equal(shifted.inputs.background_reference, nominal.inputs.background_reference)
    correlated = generate_dataset("tiny", seed=6, n_signal=0, correlated=True)
    ref = correlated.inputs.background_reference
    np.testing.assert_allclose(ref["mj1"], nominal.inputs.background_reference["mj1"] + 0.1 * ref["mjj"])


def test_validation_sample_refuses_a_data_set_of_another_generator_version(tmp_path) -> None:
    from hepbench.challenges.lhco.dataset import validation_sample
    from hepbench.datafiles import read_table, write_table

    generate_dataset("tiny", seed=4, out_dir=tmp_path)
    assert len(validation_sample(tmp_path)) > 0
    path = tmp_path / "data.parquet"
    table = read_table(path)
    meta = {k: v for k, v in table.attrs["metadata"].items() if k not in ("n_rows", "columns", "sha256")}
    write_table(table, path, {**meta, "generator_version": "1.0.0"})
    with pytest.raises(ValueError, match="generator_version '1.0.0'"):
        validation_sample(tmp_path)


def test_jets_recoil_and_respond_like_the_real_ones() -> None:
    # Real R&D subset: rank correlation of the two jets' pT 0.51 (QCD) and 0.62 (W'); generator
    # 1.0.0 gave 0.88 / 0.99 (no recoil against initial-state radiation).
    events = generate_events(50_000, 20_000, seed=3)
    for label, low, high in ((0, 0.4, 0.65), (1, 0.5, 0.75)):
        frame = events[events[LABEL] == label]
        assert low < frame["pt_j1"].corr(frame["pt_j2"], method="spearman") < high
    # The jet response moves the signal's mjj with its jets' pT and masses (real 0.42 and 0.47).
    signal = events[events[LABEL] == 1]
    assert signal["mjj"].corr(signal["pt_j2"], method="spearman") > 0.25
    assert signal["mjj"].corr(signal["mj2"], method="spearman") > 0.3


def test_the_bump_hunt_sample_of_the_correlated_variant_is_correlated() -> None:
    from hepbench.challenges.lhco.dataset import data_sample

    nominal, correlated = data_sample("tiny", 11), data_sample("tiny", 11, correlated=True)
    np.testing.assert_allclose(correlated["mj1"], nominal["mj1"] + 0.1 * nominal["mjj"], rtol=1e-6)
    np.testing.assert_array_equal(correlated["mjj"], nominal["mjj"])
