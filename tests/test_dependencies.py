"""Every library the package imports is declared in pyproject.toml, and an optional one is
named by the one-line hint a command prints when it is missing (``hepbench.extras``)."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from hepbench.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
# Not part of the installed package, or participant code that runs in its own container.
NOT_PACKAGED = {"tests", "benchmarks", "build", "docs", "reference_data", ".venv", ".git"}
TEMPLATES = ROOT / "submission_kit" / "templates"
# A module provided by a declared distribution under another name (dask[distributed]).
PROVIDED_BY = {"distributed": "dask"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string ("psycopg[binary]>=3.1" -> psycopg)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared() -> dict[str, str]:
    """Distribution name -> "core" or the extra that declares it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r): "core" for r in project["dependencies"]}
    for extra, requirements in project["optional-dependencies"].items():
        for r in requirements:
            if not r.startswith("hepbench"):
                declared.setdefault(_name(r), extra)
    return declared


@functools.cache
def _imports() -> dict[str, set[str]]:
    """Top-level third-party module -> the package files that import it."""
    found: dict[str, set[str]] = {}
    tops = [p for p in ROOT.iterdir() if p.name not in NOT_PACKAGED and (p.is_dir() or p.suffix == ".py")]
    paths = [q for p in tops for q in ([p] if p.is_file() else p.rglob("*.py"))]
    for path in paths:
        relative = path.relative_to(ROOT)
        if path.is_relative_to(TEMPLATES):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "hepbench":
                    found.setdefault(top, set()).add(str(relative))
    return found


@functools.cache
def _installed() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distribution(module: str) -> str:
    installed = _installed().get(module)
    name = PROVIDED_BY.get(module) or (installed[0] if installed else module)
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_library_is_declared() -> None:
    declared = _declared()
    undeclared = {
        module: sorted(files)
        for module, files in _imports().items()
        if _distribution(module) not in declared
        # pytest helpers for the test suite (leaderboard/testing.py, sandbox/testing.py)
        and not all(f.endswith("testing.py") and _distribution(module) == "pytest" for f in files)
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_every_optional_library_is_named_by_the_missing_extra_hint() -> None:
    declared = _declared()
    for module in _imports():
        where = declared.get(_distribution(module))
        if where in (None, "core", "test"):
            assert module not in EXTRAS or where is None, f"{module} is in the core install but EXTRAS names an extra"
            continue
        assert EXTRAS.get(module) == where, f"{module} comes with [{where}], EXTRAS says {EXTRAS.get(module)!r}"
