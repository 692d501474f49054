import numpy as np
import pytest

from hepbench import reference_data
from hepbench.challenges.calo.geometry import DATASETS, GeometryError, builtin_geometry, read_binning_xml

XML_DIR = reference_data.path("calo-binning")
EXPECTED = {
    "dataset_1_photons": (368, 5),
    "dataset_1_pions": (533, 7),
    "dataset_2": (6480, 45),
    "dataset_3": (40500, 45),
}


@pytest.mark.parametrize("name", DATASETS)
def test_builtin_geometry_voxel_counts(name):
    geometry = builtin_geometry(name)
    n_voxels, n_active = EXPECTED[name]
    assert geometry.n_voxels == n_voxels
    assert len(geometry.active_layers) == n_active
    layer_ids, radii, alphas = geometry.voxel_centres()
    assert layer_ids.shape == radii.shape == alphas.shape == (n_voxels,)
    slices = geometry.layer_slices()
    assert sum(s.stop - s.start for s in slices.values()) == n_voxels
    assert np.all((alphas >= -np.pi) & (alphas < np.pi))


@pytest.mark.parametrize("name", DATASETS)
def test_xml_parser_matches_builtin_tables(name):
    parsed = read_binning_xml(XML_DIR / f"binning_{name}.xml")
    assert parsed.n_voxels == EXPECTED[name][0]
    assert parsed == builtin_geometry(name)


def test_ds2_ds3_shapes():
    assert {(layer.n_alpha, layer.n_radial) for layer in builtin_geometry("ds2").layers} == {(16, 9)}
    assert {(layer.n_alpha, layer.n_radial) for layer in builtin_geometry("ds3").layers} == {(50, 18)}


def test_bad_xml_names_the_file(tmp_path):
    bad = tmp_path / "binning_bad.xml"
    bad.write_text("<Bins><Bin pid='22'><Layer id='0' r_edges='0,5,3' n_bin_alpha='1'/></Bin></Bins>")
    with pytest.raises(GeometryError, match="binning_bad.xml"):
        read_binning_xml(bad)
    with pytest.raises(GeometryError, match="unknown geometry"):
        builtin_geometry("dataset_9")
