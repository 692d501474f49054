"""``--resume``: which records of a comparison file are kept."""

from __future__ import annotations

import json

import pytest

from hepbench.challenges.resume import kept_results, split_resumed


def write(path, results) -> None:
    path.write_text(json.dumps({"challenge": "x", "results": results}))


def test_only_records_made_the_same_way_are_kept(tmp_path) -> None:
    path = tmp_path / "c.json"
    write(
        path,
        [
            {"method": "a", "data_seed": 1, "generator_version": "2.0.0", "metrics": {"min_background": 25.0}},
            {"method": "a", "data_seed": 1, "generator_version": "1.0.0", "metrics": {"min_background": 25.0}},
            {"method": "b", "data_seed": 1, "generator_version": "2.0.0", "metrics": {"min_background": 10.0}},
            {"method": "c", "data_seed": 1, "generator_version": "2.0.0", "metrics": {"min_background": 25.0}},
            {"method": "a", "data_seed": 2, "generator_version": "2.0.0", "metrics": {"min_background": 25.0}},
        ],
    )
    wanted = {"data_seed": 1, "generator_version": "2.0.0", "metrics.min_background": 25}
    records = json.loads(path.read_text())["results"]
    # every method made the same way: a resumed run keeps those it names and carries the others
    assert kept_results(path, wanted) == [records[0], records[3]]
    kept, carried = split_resumed(kept_results(path, wanted), lambda r: r["method"] == "a", path, str)
    assert kept == [records[0]] and carried == [records[3]]


def test_a_field_older_records_lack_takes_its_default(tmp_path) -> None:
    path = tmp_path / "c.json"
    write(path, [{"method": "a", "data_seed": 1}, {"method": "a", "data_seed": 1, "size": "tiny"}])
    assert len(kept_results(path, {"size": "small"}, defaults={"size": "small"})) == 1
    # without a default the older record is not kept: a missing field never matches a value
    assert kept_results(path, {"generator_version": "2.0.0"}) == []


def test_missing_file_keeps_nothing_and_a_bad_file_is_an_error(tmp_path) -> None:
    assert kept_results(tmp_path / "absent.json", {}) == []
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not a comparison file"):
        kept_results(bad, {})
    bad.write_text(json.dumps({"results": {"a": 1}}))
    with pytest.raises(ValueError, match="not a comparison file"):
        kept_results(bad, {})
    with pytest.raises(ValueError, match="--resume needs --json"):
        kept_results(None, {})
