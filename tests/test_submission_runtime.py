"""The submission runtime: one pinned tree of CPU torch, numpy, pandas, scikit-learn, scipy and
xgboost, bound read-only into bubblewrap and copied into the docker runtime image."""

from __future__ import annotations

import ast
import json
import os
import stat
from pathlib import Path

import pytest

from hepbench.submission_kit.runner import Payload, run_submission
from hepbench.submission_kit.sandbox import MIB, Limits
from hepbench.submission_kit.sandbox import runtime as rt
from hepbench.submission_kit.sandbox.workspace import make_run_root

KIT = Path(rt.__file__).resolve().parents[1]
RUNTIME_MODEL = Path(__file__).parent / "runtime_model"
RUNTIME_LIMITS = Limits(wall_seconds=300, memory_bytes=3072 * MIB, pids=64)


def _report(*packages: tuple[str, str], sha: str = "ab" * 32) -> dict:
    return {
        "install": [
            {
                "metadata": {"name": n, "version": v},
                "download_info": {"url": "x", "archive_info": {"hash": f"sha256={sha}"}},
            }
            for n, v in packages
        ]
    }


LOCKED = tuple((name, version + ("+cpu" if name == "torch" else "")) for name, version in rt.RUNTIME_LOCK.items())


def test_the_kit_readme_lists_the_locked_versions() -> None:
    readme = (KIT / "README.md").read_text()
    assert rt.markdown_table() in readme
    for name in rt.REQUESTED:
        assert f"| {name} | {rt.RUNTIME_LOCK[name]} |" in readme


@pytest.mark.parametrize("challenge", ["higgs-uncertainty", "lhco", "calo"])
def test_templates_build_from_the_runtime_image(challenge: str) -> None:
    dockerfile = (KIT / "templates" / challenge / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={rt.RUNTIME_IMAGE_TAG}\n" in dockerfile


def test_pip_resolution_must_be_the_lock() -> None:
    packages = rt.check_resolution(_report(*LOCKED))
    assert packages["torch"]["version"] == "2.13.0+cpu" and packages["numpy"]["sha256"] == "ab" * 32
    with pytest.raises(ValueError, match=r"nvidia-cublas-cu12.*CUDA build"):
        rt.check_resolution(_report(*LOCKED, ("nvidia-cublas-cu12", "12.9")))
    with pytest.raises(ValueError, match=r"did not install \['xgboost-cpu'\]"):
        rt.check_resolution(_report(*[p for p in LOCKED if p[0] != "xgboost-cpu"]))
    bumped = [(n, "9.9.9" if n == "scipy" else v) for n, v in LOCKED]
    with pytest.raises(ValueError, match="scipy 9.9.9, the lock pins 1.17.1"):
        rt.check_resolution(_report(*bumped))


def test_pip_installs_binary_wheels_for_the_sandbox_python(tmp_path: Path) -> None:
    args = rt.pip_command(tmp_path / "site", tmp_path / "report.json", python="/x/python")
    assert args[:4] == ["/x/python", "-m", "pip", "install"]
    assert "--only-binary=:all:" in args and args[args.index("--python-version") + 1] == "3.11"
    assert args[args.index("--abi") + 1] == "cp311"
    assert [a for a in args if "==" in a] == [f"{n}=={v}" for n, v in rt.RUNTIME_LOCK.items()]


def test_hardening_clears_setuid_and_write_bits(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    tool = tree / "pkg" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o4777)
    (tree / "pkg" / "data").write_text("x")
    (tree / "pkg" / "data").chmod(0o600)
    (tree / "escape").symlink_to("/etc/passwd")
    assert {Path(p.split(":")[0]).name for p in rt.unsafe_entries(tree)} == {"tool", "escape"}
    rt.harden(tree)
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755
    assert stat.S_IMODE((tree / "pkg" / "data").stat().st_mode) == 0o644
    (tree / "escape").unlink()
    assert rt.unsafe_entries(tree) == []


def test_a_runtime_of_another_lock_is_not_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HEPBENCH_RUNTIME_ROOT", str(tmp_path))
    folder = rt.runtime_dir()
    folder.mkdir(parents=True)
    manifest = {"lock": {**rt.RUNTIME_LOCK, "numpy": "1.0"}, "python": rt.PYTHON_VERSION, "tree_sha256": "0"}
    (folder / rt.MANIFEST).write_text(json.dumps(manifest))
    assert rt.installed_runtime() is None
    manifest["lock"] = dict(rt.RUNTIME_LOCK)
    (folder / rt.MANIFEST).write_text(json.dumps(manifest))
    assert rt.installed_runtime() == folder


# -- real sandboxes ----------------------------------------------------------------------------

PROBE = """\
import json, os, sys
import numpy, pandas, scipy, sklearn, torch, xgboost
site = os.path.dirname(os.path.dirname(numpy.__file__))
try:
    open(os.path.join(site, "planted.py"), "w")
    writable = True
except OSError:
    writable = False
dist = "/usr/lib/python3/dist-packages"
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2], "site": site, "writable": writable,
    "debian_dist_packages": sorted(os.listdir(dist)) if os.path.isdir(dist) else [],
    "numpy": numpy.__version__, "pandas": pandas.__version__, "scipy": scipy.__version__,
    "scikit-learn": sklearn.__version__, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
    "xgboost-cpu": xgboost.__version__,
    "setuid": [os.path.join(d, f) for d, _, fs in os.walk(site) for f in fs
               if os.stat(os.path.join(d, f)).st_mode & 0o6000],
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["bubblewrap", "docker"])
def test_the_runtime_is_the_same_read_only_tree_in_both_sandboxes(
    runtime_backends, submission_runtime, sandbox_runs, backend
) -> None:
    root = make_run_root(sandbox_runs, prefix="runtime-")
    (root / "input").mkdir()
    (root / "code").mkdir()
    (root / "code" / "probe.py").write_text(PROBE)
    outcome = runtime_backends[backend].run(
        ["{python}", "/submission/probe.py"],
        input_dir=root / "input",
        output_dir=root / "output",
        limits=RUNTIME_LIMITS,
        submission_dir=root / "code",
    )
    assert outcome.ok, outcome.log_tail
    seen = json.loads(outcome.log_tail.strip().splitlines()[-1])
    assert seen["python"] == rt.PYTHON_VERSION
    assert seen["site"] == rt.SANDBOX_SITE_PACKAGES
    assert not seen["writable"] and seen["setuid"] == []
    assert seen["debian_dist_packages"] == []  # Debian's numpy 1.x modules cannot shadow or break it
    assert seen["torch_cuda"] is None and seen["torch"].startswith(rt.RUNTIME_LOCK["torch"])
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "xgboost-cpu"):
        assert seen[name] == rt.RUNTIME_LOCK[name] == submission_runtime["manifest"]["packages"][name]["version"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["bubblewrap", "docker"])
def test_a_code_submission_using_the_runtime_libraries_is_scored_on_both_backends(
    runtime_backends, higgs_validate_inputs, sandbox_runs, backend
) -> None:
    input_dir, organiser_dir = higgs_validate_inputs
    record = run_submission(
        "higgs-uncertainty",
        runtime_backends[backend],
        Payload("code", code_dir=RUNTIME_MODEL),
        run_dir=make_run_root(sandbox_runs, prefix=f"runtime-{backend}-"),
        limits=RUNTIME_LIMITS,
        input_dir=input_dir,
        organiser_dir=organiser_dir,
        n_bootstrap=20,
    )
    assert record["status"] == "ok", (record["reason"], record.get("outcome", {}).get("log_tail"))
    printed = next(line for line in record["outcome"]["log_tail"].splitlines() if line.startswith("runtime:"))
    versions = ast.literal_eval(printed.partition(":")[2].strip())
    assert versions["numpy_file"].startswith(rt.SANDBOX_SITE_PACKAGES + "/")
    assert versions["xgboost"] == rt.RUNTIME_LOCK["xgboost-cpu"] and versions["torch_cuda"] is None
    metrics = record["score"]["metrics"]
    assert metrics["n_pseudo_experiments"] == 2 and metrics["n_failed"] == 0


@pytest.fixture(scope="module")
def higgs_validate_inputs(sandbox_runs, higgs_tiny_dir):
    """The inputs of ``hepbench submission validate`` (20k training events, two pseudo-experiments)."""
    from hepbench import challenges
    from hepbench.submission_kit.runner import prepare_inputs

    root = make_run_root(sandbox_runs, prefix="inputs-")
    options = dict(challenges.get("higgs-uncertainty").validate_options)
    input_dir, organiser_dir, _ = prepare_inputs(
        "higgs-uncertainty", root, **options, data_dir=higgs_tiny_dir, plan_seed=0
    )
    return input_dir, organiser_dir


def test_prepare_host_is_quick_once_the_runtime_exists(submission_runtime) -> None:
    report = rt.ensure_runtime()
    assert report["action"] == "present" and report["seconds"] < 5
    assert os.stat(submission_runtime["path"]).st_mode & 0o005 == 0o005  # the sandbox users can read it
