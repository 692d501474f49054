import h5py
import numpy as np
import pytest

from hepbench.challenges.calo.showers_io import iter_showers, read_showers, write_showers
from hepbench.datafiles import DataFileError


def _sample(n=25, v=368, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(256, 4e6, n), rng.exponential(5.0, (n, v))


def test_round_trip_with_metadata_and_chunks(tmp_path):
    energy, showers = _sample()
    path = tmp_path / "s.hdf5"
    meta = write_showers(path, energy, showers, {"generator": "test", "seed": 3})
    assert (tmp_path / "s.json").exists() and len(meta["sha256"]) == 64
    back = read_showers(path, n_voxels=368)
    np.testing.assert_allclose(back.incident_energy, energy.astype(np.float32))
    np.testing.assert_allclose(back.showers, showers.astype(np.float32))
    assert back.metadata["seed"] == 3 and back.metadata["n_showers"] == 25
    with h5py.File(path) as handle:  # official layout
        assert handle["incident_energies"].shape == (25, 1) and handle["showers"].dtype == np.float32
    chunks = list(iter_showers(path, chunk_size=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert len(read_showers(path, max_showers=12)) == 12


def test_errors_name_file_and_dataset(tmp_path):
    energy, showers = _sample()
    path = tmp_path / "s.hdf5"
    write_showers(path, energy, showers)
    with pytest.raises(DataFileError, match="368 voxels"):
        read_showers(path, n_voxels=533)
    with open(path, "r+b") as handle:  # corrupt a byte
        handle.seek(2000)
        handle.write(b"\x00\xff")
    with pytest.raises(DataFileError, match="s.hdf5.*sha256"):
        read_showers(path)
    showers[3, 7] = np.nan
    nan_path = tmp_path / "nan.hdf5"
    write_showers(nan_path, energy, showers, sidecar=False)
    with pytest.raises(DataFileError, match="nan.hdf5.*'showers'.*row 3"):
        read_showers(nan_path)
    with h5py.File(tmp_path / "bad.hdf5", "w") as handle:
        handle["incident_energies"] = np.ones((4, 1))
        handle["showers"] = np.ones((5, 368))
    with pytest.raises(DataFileError, match="bad.hdf5.*'showers'"):
        read_showers(tmp_path / "bad.hdf5")
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(DataFileError, match="junk.hdf5"):
        read_showers(tmp_path / "junk.hdf5")
    with pytest.raises(DataFileError, match="x.hdf5: showers must be .* got 3 rows"):
        write_showers(tmp_path / "x.hdf5", energy, showers[:3])


def test_groups_compound_types_and_damaged_chunks_are_named(tmp_path):
    energy, showers = _sample()
    with h5py.File(tmp_path / "group.hdf5", "w") as handle:
        handle["incident_energies"] = energy.reshape(-1, 1)
        handle.create_group("showers")
    with pytest.raises(DataFileError, match="group.hdf5: 'showers' must be a numeric dataset, found Group"):
        read_showers(tmp_path / "group.hdf5")
    with h5py.File(tmp_path / "compound.hdf5", "w") as handle:
        handle["incident_energies"] = np.zeros(len(energy), dtype=[("a", "f4"), ("b", "f4")])
        handle["showers"] = showers
    with pytest.raises(DataFileError, match="compound.hdf5: 'incident_energies' must be a numeric dataset"):
        read_showers(tmp_path / "compound.hdf5")
    damaged = tmp_path / "damaged.hdf5"
    with h5py.File(damaged, "w") as handle:
        handle["incident_energies"] = energy.reshape(-1, 1)
        handle.create_dataset("showers", data=showers, chunks=showers.shape, compression="gzip")
        offset = handle["showers"].id.get_chunk_info(0).byte_offset
    with open(damaged, "r+b") as handle:  # inside the compressed chunk: the deflate stream breaks
        handle.seek(offset + 16)
        handle.write(bytes(64))
    with pytest.raises(DataFileError, match="damaged.hdf5: rows 0-.* cannot be read"):
        read_showers(damaged)


def test_showers_written_block_by_block_are_the_array_written_at_once(tmp_path):
    energy, showers = _sample(n=100, v=50)
    whole = write_showers(tmp_path / "whole.hdf5", energy, showers)
    blocks = write_showers(tmp_path / "blocks.hdf5", energy, (showers[i : i + 17] for i in range(0, 100, 17)))
    assert blocks["n_showers"] == whole["n_showers"] == 100 and blocks["n_voxels"] == 50
    np.testing.assert_array_equal(read_showers(tmp_path / "blocks.hdf5").showers, showers.astype(np.float32))
    for wrong, message in (
        ((showers[i : i + 30] for i in range(0, 90, 30)), "N = 100 incident energies, got 90 rows"),  # too few rows
        (iter([showers, showers[:1]]), r"block of shape \(1, 50\) after 100 rows"),  # too many
        (iter([showers[:50], showers[50:, :40]]), r"block of shape \(50, 40\)"),  # another width
    ):
        with pytest.raises(DataFileError, match=f"bad.hdf5: .*{message}"):
            write_showers(tmp_path / "bad.hdf5", energy, wrong)
        assert not list(tmp_path.glob("bad.*"))  # no partial file left behind
