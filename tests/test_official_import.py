"""``hepbench data import``: official-format samples into data folders, and ``--data`` refusals.

The official-format inputs are the real samples shipped in ``hepbench.reference_data``: the FAIR
Universe parquet and metadata as distributed; an LHCO features file in the official layout
(p_x, p_y, p_z, m, tau_1..3 per jet, GeV, + label) written from the high-level features of real
R&D events; the official "tiny" R&D particle file. No CaloChallenge shower file is shipped, so the
calo inputs are simulated showers written in the official HDF5 layout under the official names.
"""

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hepbench import challenges, reference_data
from hepbench.challenges.calo.dataset import load_split
from hepbench.challenges.calo.showers_io import write_showers
from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model
from hepbench.challenges.lhco.dataset import load_dataset
from hepbench.challenges.lhco.official import (
    FEATURE_COLUMNS,
    cathode_split,
    features_frame,
    import_lhco,
    read_features_file,
)
from hepbench.challenges.lhco.real_data import load_highlevel_subset
from hepbench.challenges.lhco.schema import COLUMNS, LABEL
from hepbench.cli.main import app
from hepbench.datafiles import DataFileError, read_table

runner = CliRunner()


def official_features(blocks: range, *, with_label: bool = True, signal_region_only: bool = False) -> pd.DataFrame:
    """Real R&D events of the shipped high-level subset in the official features-file layout."""
    folder = reference_data.path("lhco-highlevel-subset")
    frames = []
    for prefix, key, label in (("bkg", "bkg", 0), ("sig", "sig", 1)):
        for block in blocks:
            raw = pd.read_hdf(folder / f"scalars_{prefix}{block:02d}.h5", key=key)
            out = {}
            for j in (1, 2):
                pt, eta, phi = raw[f"pt_{j}"], raw[f"eta_{j}"], raw[f"phi_{j}"]
                out |= {
                    f"pxj{j}": pt * np.cos(phi),
                    f"pyj{j}": pt * np.sin(phi),
                    f"pzj{j}": pt * np.sinh(eta),
                    f"mj{j}": raw[f"mass_{j}"],
                    **{f"tau{n}j{j}": raw[f"tau{n}_{j}"] for n in (1, 2, 3)},
                }
            frame = pd.DataFrame(out)[list(FEATURE_COLUMNS)]
            if with_label:
                frame["label"] = float(label)
            if signal_region_only:
                frame = frame[raw["mjj"].between(3300, 3700).to_numpy()]
            if with_label or label == 0:
                frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def lhco_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lhco_official")
    official_features(range(1, 6)).to_hdf(folder / "events_anomalydetection_v2.features.h5", key="df", mode="w")
    extra = official_features(range(6, 11), with_label=False, signal_region_only=True)
    extra.to_hdf(folder / "events_anomalydetection_qcd_extra_inneronly_features.h5", key="df", mode="w")
    return folder


@pytest.fixture(scope="module")
def calo_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calo_official")
    model = detector_model("ds1-photons")
    for index, name in enumerate(("dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5")):
        energy, showers = GFlashSimulator(model, seed=100 + index).generate(300)
        write_showers(folder / name, energy, showers, sidecar=False)  # as published: no sidecar
    return folder


def test_features_file_reproduces_the_highlevel_columns():
    """mjj, masses and tau21 from the official layout agree with the high-level subset's."""
    frame = features_frame(official_features(range(1, 2)), "sample")
    subset = load_highlevel_subset(reference_data.path("lhco-highlevel-subset"))
    subset = subset[subset["file"].isin(["scalars_bkg01.h5", "scalars_sig01.h5"])].reset_index(drop=True)
    np.testing.assert_allclose(frame["mjj"], subset["mjj"], rtol=2e-3)
    np.testing.assert_allclose(frame["mj1"], subset["mj1"], rtol=1e-9)
    # CATHODE's tau2 / (tau1 + 1e-5) against tau2 / tau1: equal up to 1e-5 / tau1.
    np.testing.assert_allclose(frame["tau21_j1"], subset["tau21_j1"], rtol=1e-2)
    np.testing.assert_array_equal(frame[LABEL], subset[LABEL])


def test_injection_matches_cathode_constant():
    """On files with the full R&D counts (772 of the first 1000 signal events and 121,352
    background events in the signal region) the default S/B injects CATHODE's 1000 events."""
    from hepbench.challenges.lhco.official import S_OVER_B_CATHODE, n_injected

    assert S_OVER_B_CATHODE == 772 / 121_352
    background = pd.DataFrame({"mjj": np.r_[np.full(121_352, 3.5), np.full(5000, 2.9)]})
    signal = pd.DataFrame({"mjj": np.r_[np.full(772, 3.5), np.full(228, 4.0), np.full(500, 2.0)]})
    assert n_injected(background, signal, S_OVER_B_CATHODE) == 1000
    assert n_injected(background, signal, S_OVER_B_CATHODE / 2) == 500
    with pytest.raises(ValueError, match="must be in"):
        n_injected(background, signal, 1.5)


def test_cathode_split_counts_and_disjoint_sets(lhco_files):
    events = read_features_file(lhco_files / "events_anomalydetection_v2.features.h5")
    extra = read_features_file(
        lhco_files / "events_anomalydetection_qcd_extra_inneronly_features.h5", require_label=False
    )
    made = cathode_split(events, extra, 0.05, seed=1)
    n_bkg = int((events[LABEL] == 0).sum())
    assert int((made.data_truth == 0).sum()) == n_bkg  # every R&D background event is in the mixture
    assert int(made.data_truth.sum()) == made.n_signal > 0
    sr = made.test["mjj"].between(3.3, 3.7)
    assert sr.all() and set(made.test[LABEL]) == {0, 1}
    assert made.inputs.background_reference["mjj"].between(3.3, 3.7).all()
    # The injected signal, test signal and labelled signal are different events.
    keys = [tuple(r) for r in made.test[made.test[LABEL] == 1][list(COLUMNS)].round(9).to_numpy()]
    injected = {tuple(r) for r in made.inputs.data[made.data_truth.to_numpy() == 1][list(COLUMNS)].round(9).to_numpy()}
    assert not injected & set(keys)
    again = cathode_split(events, extra, 0.05, seed=1)
    pd.testing.assert_frame_equal(again.test, made.test)
    other = cathode_split(events, extra, 0.05, seed=2)
    assert not other.inputs.data.equals(made.inputs.data)


def test_import_lhco_cli_writes_a_loadable_folder(lhco_files, tmp_path):
    out = tmp_path / "lhco"
    result = runner.invoke(
        app,
        [
            "data",
            "import",
            "lhco",
            "--official",
            str(lhco_files / "events_anomalydetection_v2.features.h5"),
            "--extra-qcd",
            str(lhco_files / "events_anomalydetection_qcd_extra_inneronly_features.h5"),
            "--signal-over-background",
            "0.05",
            "--to",
            str(out),
            "--json",
            str(tmp_path / "import.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    dataset = load_dataset(out)
    assert dataset.preset == "official" and dataset.n_signal > 0
    meta = read_table(out / "test.parquet").attrs["metadata"]
    assert meta["source"] == "official" and meta["split"] == "test" and meta["signal_over_background"] == 0.05
    assert "CATHODE" in json.loads((tmp_path / "import.json").read_text())["split_rule"]
    # Importing again over the folder is allowed (it is a hepbench data folder).
    assert (
        runner.invoke(
            app,
            [
                "data",
                "import",
                "lhco",
                "--official",
                str(lhco_files / "events_anomalydetection_v2.features.h5"),
                "--signal-over-background",
                "0.05",
                "--to",
                str(out),
            ],
        ).exit_code
        == 0
    )


def test_import_lhco_particle_file_through_the_rnd_reader(tmp_path):
    """The official particle file (jets clustered here) imports without the extra sample."""
    pytest.importorskip("fastjet")
    summary = import_lhco(reference_data.path("lhco-events-tiny"), tmp_path / "lhco", signal_over_background=0.1)
    dataset = load_dataset(tmp_path / "lhco")
    assert summary["n_signal"] == dataset.n_signal > 0
    assert len(dataset.inputs.data) + len(dataset.inputs.background_reference) > 400


def test_import_higgs_weights_stand_for_the_luminosity(fair_path, tmp_path):
    out = tmp_path / "higgs"
    spec = challenges.get("higgs-uncertainty")
    spec.import_official(fair_path.parent, out, seed=3, luminosity_fb=10.0)
    data = spec.load(out)
    sample = pd.read_parquet(fair_path)
    assert len(data.train) + len(data.test) == len(sample)
    totals = sample.groupby("detailed_labels")["weights"].sum()
    for split in (data.train, data.test):
        sums = split.groupby("detailed_labels")["weights"].sum()
        for process, total in sums.items():
            assert total == pytest.approx(totals[process], rel=1e-5)
    meta = data.train.attrs["metadata"]
    assert meta["luminosity_fb"] == 10.0 and meta["preset"] == "official" and meta["source"] == "official"


def test_import_higgs_from_the_record_zip_first_rows(fair_path, tmp_path):
    """The record's zip (parquet + metadata) imports; --max-events reads the first rows only."""
    import zipfile

    archive = tmp_path / "FAIR_Universe_HiggsML_data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(fair_path, "FAIR_Universe_HiggsML_data.parquet")
        zf.write(
            fair_path.parent / "FAIR_Universe_HiggsML_data_metadata.json", "FAIR_Universe_HiggsML_data_metadata.json"
        )
    out = tmp_path / "higgs"
    result = runner.invoke(
        app,
        [
            "data",
            "import",
            "higgs-uncertainty",
            "--official",
            str(archive),
            "--to",
            str(out),
            "--max-events",
            "600",
            "--luminosity",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    data = challenges.get("higgs-uncertainty").load(out)
    assert len(data.train) + len(data.test) == 600
    assert data.test.attrs["metadata"]["luminosity_fb"] == 1.0
    total = pd.read_parquet(fair_path)["weights"].sum() / 10.0  # the record's 10 fb^-1 -> 1 fb^-1
    assert data.test["weights"].sum() == pytest.approx(total, rel=1e-5)
    assert not list(tmp_path.glob(".official-*"))  # the extracted copy is gone


def test_import_calo_keeps_names_and_split(calo_files, tmp_path):
    out = tmp_path / "calo"
    result = runner.invoke(app, ["data", "import", "calo", "--official", str(calo_files), "--to", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.hdf5")) == ["dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5"]
    train = load_split(out, "ds1-photons", "train")
    assert train.metadata["split"] == "train" and train.metadata["source"] == "official"
    np.testing.assert_array_equal(train.showers, load_split(calo_files, "ds1-photons", "train").showers)
    # A changed byte is caught by the sidecar's sha256.
    (out / "dataset_1_photons_2.hdf5").unlink()
    (out / "dataset_1_photons_2.hdf5").write_bytes(
        (calo_files / "dataset_1_photons_2.hdf5").read_bytes()[:-10] + b"0" * 10
    )
    with pytest.raises(DataFileError, match="sha256"):
        load_split(out, "ds1-photons", "test")


def test_import_calo_refuses_a_damaged_chunk_before_writing(calo_files, tmp_path):
    """A file whose header reads but whose compressed data is damaged gets no sidecar (which
    would vouch for it) and is not placed."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "dataset_1_photons_1.hdf5").write_bytes((calo_files / "dataset_1_photons_1.hdf5").read_bytes())
    damaged = downloads / "dataset_1_photons_2.hdf5"
    source = load_split(calo_files, "ds1-photons", "test")
    with h5py.File(damaged, "w") as handle:
        handle["incident_energies"] = source.incident_energy.reshape(-1, 1)
        handle.create_dataset("showers", data=source.showers, chunks=(50, 368), compression="gzip")
        offset = handle["showers"].id.get_chunk_info(2).byte_offset
    with open(damaged, "r+b") as handle:  # inside the third compressed chunk: the deflate stream breaks
        handle.seek(offset + 16)
        handle.write(bytes(64))
    out = tmp_path / "calo"
    result = runner.invoke(app, ["data", "import", "calo", "--official", str(downloads), "--to", str(out)])
    assert result.exit_code == 1
    assert "dataset_1_photons_2.hdf5: rows 0-299 cannot be read" in " ".join(result.output.split())
    assert not out.exists()  # the good training file is not placed either: nothing half-imported


def test_import_calo_in_place_adds_sidecars_only(calo_files, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for path in calo_files.glob("*.hdf5"):
        (downloads / path.name).write_bytes(path.read_bytes())
    before = sorted(p.name for p in downloads.iterdir())
    result = runner.invoke(app, ["data", "import", "calo", "--official", str(downloads), "--to", str(downloads)])
    assert result.exit_code == 0, result.output
    after = sorted(p.name for p in downloads.iterdir())
    assert after == sorted([*before, "dataset_1_photons_1.json", "dataset_1_photons_2.json"])
    assert challenges.get("calo").holds_data(downloads)


def test_calo_missing_geometry_never_regenerates(calo_files, tmp_path):
    """A folder of official DS1 files asked for DS2 reports it; nothing is written there."""
    before = {p.name: p.stat().st_mtime_ns for p in calo_files.iterdir()}
    result = runner.invoke(
        app,
        ["baseline", "run", "calo", "calo-gan", "--data", str(calo_files), "--preset", "small", "--geometry", "ds2"],
    )
    assert result.exit_code == 1, result.output
    assert "no 'ds2' showers" in " ".join(result.output.split())
    assert {p.name: p.stat().st_mtime_ns for p in calo_files.iterdir()} == before


@pytest.mark.parametrize("challenge", ["higgs-uncertainty", "lhco", "calo"])
def test_data_refuses_a_folder_of_other_files(challenge, tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "events_anomalydetection_v2.h5").write_bytes(b"not hepbench")
    result = runner.invoke(
        app,
        [
            "baseline",
            "run",
            challenge,
            "bdt-counting"
            if challenge == "higgs-uncertainty"
            else ("supervised" if challenge == "lhco" else "calo-gan"),
            "--data",
            str(folder),
            "--preset",
            "tiny",
        ],
    )
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "is neither empty nor a hepbench data folder" in message and "Traceback" not in message
    assert sorted(p.name for p in folder.iterdir()) == ["events_anomalydetection_v2.h5"]
    result = runner.invoke(app, ["data", "generate", challenge, "--preset", "tiny", "--out", str(folder)])
    assert result.exit_code == 1 and "is neither empty nor a hepbench data folder" in " ".join(result.output.split())
    assert sorted(p.name for p in folder.iterdir()) == ["events_anomalydetection_v2.h5"]


def test_import_errors_are_one_line(tmp_path):
    result = runner.invoke(
        app, ["data", "import", "lhco", "--official", str(tmp_path / "none.h5"), "--to", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "no such file" in result.output
    result = runner.invoke(app, ["data", "import", "calo", "--official", str(tmp_path), "--to", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no complete set of official CaloChallenge files" in " ".join(
        result.output.split()
    )
    result = runner.invoke(app, ["data", "import", "calo", "--official", str(tmp_path), "--extra-qcd", "x"])
    assert result.exit_code == 1 and "calo takes no --extra-qcd" in result.output


@pytest.mark.slow  # 13-14 s on 2 busy cores, 160 s once under heavier load: kept out of the quick lane
def test_official_samples_end_to_end_one_baseline_each(fair_path, lhco_files, calo_files, tmp_path):
    """Import the official-format samples of each challenge, then run its cheapest baseline on
    them with the ordinary command: the imported folders are data folders like generated ones."""
    higgs, lhco, calo = tmp_path / "higgs", tmp_path / "lhco", tmp_path / "calo"
    imports = [
        ["higgs-uncertainty", "--official", str(fair_path.parent), "--to", str(higgs), "--luminosity", "0.05"],
        [
            "lhco",
            "--official",
            str(lhco_files / "events_anomalydetection_v2.features.h5"),
            "--extra-qcd",
            str(lhco_files / "events_anomalydetection_qcd_extra_inneronly_features.h5"),
            "--signal-over-background",
            "0.05",
            "--to",
            str(lhco),
        ],
        ["calo", "--official", str(calo_files), "--to", str(calo)],
    ]
    for args in imports:
        result = runner.invoke(app, ["data", "import", *args])
        assert result.exit_code == 0, result.output
    runs = {
        "higgs-uncertainty": ["bdt-counting", "--data", str(higgs), "--sets", "1", "--pseudo-experiments", "2"],
        "lhco": ["supervised", "--data", str(lhco)],
        "calo": ["calo-gan", "--data", str(calo), "--geometry", "ds1-photons", "--classifier", "tiny"],
    }
    for challenge, args in runs.items():
        out = tmp_path / f"{challenge}.json"
        cmd = ["baseline", "run", challenge, *args, "--preset", "tiny", "--size", "tiny", "--device", "cpu"]
        result = runner.invoke(app, [*cmd, "--scheduler", "serial", "--no-progress", "--json", str(out)])
        assert result.exit_code == 0, f"{challenge}: {result.output}"
        record = json.loads(out.read_text())
        metrics = record["metrics"]
        assert metrics, challenge
        if challenge == "lhco":
            assert record["data"] == "official" and 0.0 <= metrics["auc"] <= 1.0
        elif challenge == "calo":
            assert 0.0 <= metrics["auc_low"] <= 1.0 and np.isfinite(metrics["fpd"])
        else:
            assert record["preset"] == "official" and np.isfinite(metrics["coverage"])
