import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbench.challenges.calo.showers_io import write_showers
from hepbench.challenges.calo.simulator import GFlashSimulator, detector_model, vary
from hepbench.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_generate_and_score_calo(tmp_path):
    data = tmp_path / "data"
    result = runner.invoke(
        app,
        [
            "data",
            "generate",
            "calo",
            "--preset",
            "tiny",
            "--seed",
            "1",
            "--out",
            str(data),
            "--json",
            str(tmp_path / "gen.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    files = json.loads((tmp_path / "gen.json").read_text())["files"]
    assert files["ds1-photons_test.hdf5"]["n_voxels"] == 368
    model = detector_model("ds1-photons")
    energy, showers = GFlashSimulator(vary(model, sampling_fraction_scale=0.85), seed=9).generate(300)
    write_showers(tmp_path / "gen.hdf5", energy, showers, {"generator": "variant"})
    result = runner.invoke(
        app,
        [
            "score",
            "calo",
            str(tmp_path / "gen.hdf5"),
            str(data / "ds1-photons_test.hdf5"),
            "-o",
            "classifier=tiny",
            "-o",
            f"plots={tmp_path / 'plots'}",
            "--json",
            str(tmp_path / "score.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["record_version"] == 1 and score["challenge"] == "calo"
    assert score["geometry"] == "dataset_1_photons" and score["n_generated"] == 300
    assert score["separation_powers"]["etot_einc"] > 0.2  # 15 % less response is plain in E_tot / E_inc
    assert np.isfinite(score["metrics"]["auc_low"]) and np.isfinite(score["metrics"]["fpd"])
    assert list((tmp_path / "plots").glob("features_*.png"))


def test_score_calo_errors(tmp_path):
    result = runner.invoke(app, ["score", "calo", str(tmp_path / "missing.hdf5")])
    assert result.exit_code != 0 and "reference" in result.output
    result = runner.invoke(app, ["score", "calo", str(tmp_path / "missing.hdf5"), str(tmp_path / "missing.hdf5")])
    assert result.exit_code != 0 and "missing.hdf5" in result.output
    result = runner.invoke(app, ["score", "calo", str(tmp_path), str(tmp_path), "-o", "colour=red"])
    assert result.exit_code == 1 and "colour" in result.output
    result = runner.invoke(app, ["score", "higgs-uncertainty"])
    assert result.exit_code == 2 and "outputs" in result.output.lower()
