"""A submission's Dockerfile reaches nothing past its context and the organiser's base image."""

from __future__ import annotations

import pytest

from hepbench.submission_kit.runner import template_dir
from hepbench.submission_kit.sandbox.dockerfile import check_dockerfile

BASE = "hepbench/submission-base:bookworm"


@pytest.mark.parametrize("challenge", ["lhco", "higgs-uncertainty", "calo"])
def test_the_kit_templates_pass(challenge: str) -> None:
    check_dockerfile(template_dir(challenge) / "Dockerfile", BASE)


@pytest.mark.parametrize(
    "text",
    [
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS build\nRUN make\nFROM build\nCOPY --from=build /a /b\nCOPY --from=0 /a /c\n",
        f"FROM {BASE}\nADD data.tar.gz /data/\n",
    ],
)
def test_stages_and_local_files_are_accepted(tmp_path, text: str) -> None:
    (tmp_path / "Dockerfile").write_text(text)
    check_dockerfile(tmp_path / "Dockerfile", BASE)


@pytest.mark.parametrize(
    "text,match",
    [
        ("FROM hepbench-submission/lhco:0123456789ab\n", "builds FROM"),
        ("ARG IMG=evil/image\nFROM ${IMG}\n", "builds FROM"),
        ("FROM --platform=linux/arm64 ${BASE_IMAGE}\n", "no options"),
        ("FROM ${BASE_IMAGE}\nCOPY --from=hepbench/submission-base:other /etc /x\n", "only an earlier stage"),
        ("FROM ${BASE_IMAGE}\nCOPY --from=0 /etc /x\n", "only an earlier stage"),
        ("FROM ${BASE_IMAGE}\nADD http://169.254.169.254/latest/meta-data /x\n", "fetches a URL"),
        ("FROM ${BASE_IMAGE}\nADD \\\n  https://example.org/a.tar /x\n", "fetches a URL"),
        ("FROM ${BASE_IMAGE}\nVOLUME /data\n", "VOLUME is not accepted"),
        ("FROM ${BASE_IMAGE}\nonbuild ADD . /x\n", "ONBUILD is not accepted"),
        ("# escape=`\nFROM ${BASE_IMAGE}\n", "parser directive"),
        ("RUN true\n", "no FROM"),
    ],
)
def test_what_reaches_past_the_context_is_refused(tmp_path, text: str, match: str) -> None:
    (tmp_path / "Dockerfile").write_text(text)
    with pytest.raises(ValueError, match=match):
        check_dockerfile(tmp_path / "Dockerfile", BASE)
