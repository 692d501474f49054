"""Host preparation: the docker daemon's configuration asks for user-namespace remapping."""

from __future__ import annotations

import json

import pytest

from hepbench.submission_kit.sandbox.host import USERNS_REMAP, configure_userns_remap


def test_userns_remap_is_added_once_and_other_settings_kept(tmp_path) -> None:
    path = tmp_path / "docker" / "daemon.json"
    assert configure_userns_remap(path) is True
    assert json.loads(path.read_text()) == {"userns-remap": USERNS_REMAP}
    assert configure_userns_remap(path) is False  # idempotent
    path.write_text(json.dumps({"log-level": "warn", "userns-remap": "organiser"}))
    assert configure_userns_remap(path) is False
    assert json.loads(path.read_text()) == {"log-level": "warn", "userns-remap": "organiser"}
    path.write_text(json.dumps({"data-root": "/srv/docker"}))
    assert configure_userns_remap(path) is True
    assert json.loads(path.read_text()) == {"data-root": "/srv/docker", "userns-remap": USERNS_REMAP}


def test_a_broken_daemon_json_is_named_not_overwritten(tmp_path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text("{not json")
    with pytest.raises(RuntimeError, match="daemon.json: not valid JSON"):
        configure_userns_remap(path)
    assert path.read_text() == "{not json"
