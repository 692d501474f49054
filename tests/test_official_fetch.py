"""``hepbench data fetch``: the registry, downloads from a local HTTP server, --from, checksum failures."""

import functools
import hashlib
import http.server
import json
import re
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepbench import official_data
from hepbench.cli.main import app
from hepbench.official_data import OfficialDataError, OfficialDataset, OfficialFile, fetch

runner = CliRunner()

GOOD = b"official bytes\n" * 5000
OTHER = b"not the published file\n" * 100


@pytest.fixture()
def server(tmp_path):
    """A local HTTP server over ``tmp_path / 'served'``; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "good.h5").write_bytes(GOOD)
    (served / "bad.h5").write_bytes(OTHER)
    (served / "nohash.txt").write_bytes(OTHER)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # noqa: ARG002  (a dropped connection is fine)
            pass

    httpd = Quiet(("127.0.0.1", 0), handler)
    handler.keywords["directory"] = str(served)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _registry(base: str) -> dict[str, OfficialDataset]:
    md5_good = hashlib.md5(GOOD).hexdigest()
    sha_good = hashlib.sha256(GOOD).hexdigest()
    return {
        "test-md5": OfficialDataset(
            "test-md5",
            "lhco",
            "a file with a published md5",
            base,
            "10.0/test",
            (OfficialFile("good.h5", "good", size=len(GOOD), md5=md5_good, url=f"{base}/good.h5"),),
        ),
        "test-sha": OfficialDataset(
            "test-sha",
            "lhco",
            "a file with a sha256",
            base,
            "10.0/test",
            (OfficialFile("good.h5", "good", sha256=sha_good, url=f"{base}/good.h5"),),
        ),
        "test-bad": OfficialDataset(
            "test-bad",
            "lhco",
            "served bytes differ from the published checksum",
            base,
            "10.0/test",
            (OfficialFile("bad.h5", "bad", md5=md5_good, url=f"{base}/bad.h5"),),
        ),
        "test-nohash": OfficialDataset(
            "test-nohash",
            "lhco",
            "no published checksum",
            base,
            "10.0/test",
            (OfficialFile("nohash.txt", "no checksum", url=f"{base}/nohash.txt"),),
        ),
    }


def test_registry_lists_every_official_file_with_doi():
    rows = official_data.registry_rows()
    names = {r["file"] for r in rows}
    for expected in (
        "FAIR_Universe_HiggsML_data.zip",
        "events_anomalydetection_v2.h5",
        "events_anomalydetection_v2.features.h5",
        "events_anomalydetection_qcd_extra_inneronly_features.h5",
        "events_LHCO2020_BlackBox1.h5",
        "events_LHCO2020_BlackBox2.h5",
        "events_LHCO2020_BlackBox3.h5",
        "events_LHCO2020_BlackBox1.masterkey",
        "events_LHCO2020_BlackBox3.masterkey",
        "dataset_1_photons_1.hdf5",
        "dataset_1_pions_2.hdf5",
        "dataset_2_1.hdf5",
        "dataset_3_4.hdf5",
    ):
        assert expected in names
    for row in rows:
        assert row["doi"].startswith("10.5281/zenodo.")
        assert row["verified"] == bool(row["md5"] or row["sha256"])
        if row["md5"]:
            assert len(row["md5"]) == 32 and int(row["md5"], 16) >= 0


def test_list_fits_100_columns_and_writes_json(tmp_path):
    result = runner.invoke(app, ["data", "fetch", "--list", "--json", str(tmp_path / "r.json")], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 100
    assert "md5:e590333e9a2da51b258288d74bd8357a" in result.output  # dataset_2_1.hdf5
    assert "none published (unverified)" in result.output
    # A sha256 is printed whole on one line (copyable), with its algorithm.
    assert "sha256:adaa3dd81a02663051aa93f960bc1c5ee67a78d25c091015bb020b1f9cd7dcb5" in result.output
    assert "https://zenodo.org/records/6466204 (doi:10.5281/zenodo.6466204)" in result.output
    rows = json.loads((tmp_path / "r.json").read_text())
    assert len(rows) == len(official_data.registry_rows())
    features = next(r for r in rows if r["file"] == "events_anomalydetection_v2.features.h5")
    assert features["checked"] == f"sha256:{features['sha256']}" and features["size"] == 74_315_238
    assert "https://github.com/" in features["checksum_source"]


DOCS = Path(official_data.__file__).parent / "docs" / "official_data.md"


def test_every_file_has_a_sourced_digest_or_is_documented_unpublished():
    """A file without a digest is exactly one of UNPUBLISHED, each listed in the docs as such; every
    digest is well formed, has a named source, and appears (with its file) in the docs table."""
    docs = DOCS.read_text()
    unpublished_section = docs.split("## Files with no published checksum", 1)[1]
    missing = set()
    for ds in official_data.DATASETS.values():
        for f in ds.files:
            if f.known_hash is None:
                missing.add(f.name)
                assert ds.checksum_source_of(f) is None
                continue
            assert f.name not in official_data.UNPUBLISHED
            source = ds.checksum_source_of(f)
            assert source, f"{f.name}: a digest without a source"
            if ds.challenge != "calo":  # the digests added with their addresses
                assert "https://" in source, f"{f.name}: source names no address"
            if f.md5:
                assert re.fullmatch(r"[0-9a-f]{32}", f.md5), f.name
            if f.sha256:
                assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.name
            row = next(line for line in docs.splitlines() if f"`{f.name}`" in line and "|" in line)
            for digest in f.digests:
                assert digest in row, f"{f.name}: {digest} not in the docs table"
    assert missing == official_data.UNPUBLISHED
    for name in official_data.UNPUBLISHED:
        assert f"`{name}`" in unpublished_section, f"{name} not documented as unpublished"


def test_download_success_md5_and_sha256(server, tmp_path, monkeypatch):
    monkeypatch.setattr(official_data, "DATASETS", _registry(server))
    for name in ("test-md5", "test-sha"):
        out = tmp_path / name
        rows = fetch(name, out, progress=False)
        assert (out / "good.h5").read_bytes() == GOOD
        assert rows[0]["verified"] and rows[0]["sha256"] == hashlib.sha256(GOOD).hexdigest()
    # A second fetch finds the verified file in place and does not download it again.
    assert fetch("test-md5", tmp_path / "test-md5", progress=False)[0]["how"] == "already there"


def test_cli_download_shows_progress(server, tmp_path, monkeypatch):
    monkeypatch.setattr(official_data, "DATASETS", _registry(server))
    result = runner.invoke(app, ["data", "fetch", "test-md5", "--to", str(tmp_path / "d")], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "good.h5" in result.output and "verified" in result.output
    assert "kB" in result.output or "MB" in result.output  # the rich download column


def test_checksum_failure_one_line_nonzero_nothing_left(server, tmp_path, monkeypatch):
    monkeypatch.setattr(official_data, "DATASETS", _registry(server))
    out = tmp_path / "d"
    result = runner.invoke(app, ["data", "fetch", "test-bad", "--to", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # One message (the console may wrap it), naming the URL and the published checksum.
    message = " ".join(result.output.split())
    assert message.startswith("error: http://127.0.0.1") and message.count("error:") == 1
    assert "does not match the published checksum md5:" in message
    assert not (out / "bad.h5").exists()
    assert list(out.iterdir()) == []


def test_unknown_checksum_is_kept_but_unverified(server, tmp_path, monkeypatch):
    monkeypatch.setattr(official_data, "DATASETS", _registry(server))
    result = runner.invoke(app, ["data", "fetch", "test-nohash", "--to", str(tmp_path / "d"), "--no-progress"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "UNVERIFIED" in text and "NOT verified" in text
    assert hashlib.sha256(OTHER).hexdigest() in text


def test_from_folder_checks_and_links_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(official_data, "DATASETS", _registry("http://127.0.0.1:9"))  # nothing listens
    downloaded = tmp_path / "downloads"
    downloaded.mkdir()
    (downloaded / "good.h5").write_bytes(GOOD)
    (downloaded / "bad.h5").write_bytes(OTHER)
    rows = fetch("test-md5", tmp_path / "to", from_dir=downloaded, progress=False)
    assert rows[0]["how"] in ("linked", "copied") and rows[0]["verified"]
    assert (tmp_path / "to" / "good.h5").read_bytes() == GOOD
    with pytest.raises(OfficialDataError, match="does not match the published"):
        fetch("test-bad", tmp_path / "to2", from_dir=downloaded, progress=False)
    assert not (tmp_path / "to2" / "bad.h5").exists()
    with pytest.raises(OfficialDataError, match="no such file"):
        fetch("test-sha", tmp_path / "to3", from_dir=tmp_path / "empty", progress=False)


def test_unknown_dataset_and_file(tmp_path):
    result = runner.invoke(app, ["data", "fetch", "nope", "--to", str(tmp_path)])
    assert result.exit_code == 1 and "unknown data set 'nope'" in result.output
    result = runner.invoke(app, ["data", "fetch", "calo-ds2", "--file", "x.h5", "--to", str(tmp_path)])
    assert result.exit_code == 1 and "has no file 'x.h5'" in result.output
