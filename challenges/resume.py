"""Results a comparison already wrote to its ``--json`` file, kept by ``--resume``.

A comparison writes each finished unit of work (a baseline, or a baseline at one training seed)
to its JSON file as it finishes, so an interrupted run loses only what was still training. On
``--resume`` the records whose identifying fields all equal the new run's are kept and only the
missing units run; a record made on other data, another size or another floor is never reused.
Records of the same data that the new run does not name (other methods, other training seeds)
stay in the file, so a comparison can be built in pieces, one method at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def kept_results(
    path: str | Path | None,
    wanted: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Records in the comparison file ``path`` whose fields equal ``wanted`` (any method).

    ``wanted`` maps a field name, or a dotted path into nested dicts (``metrics.min_background``),
    to the value the new run will have. ``defaults`` gives the value of a field that records
    written before it existed lack. A missing file keeps nothing; a file that is not a
    comparison file is an error (resuming must not silently start over).
    """
    if path is None:
        raise ValueError("--resume needs --json: the file holding the results to keep")
    path = Path(path)
    if not path.exists():
        return []
    try:
        results = json.loads(path.read_text())["results"]
        if not isinstance(results, list):
            raise TypeError("'results' is not a list")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a comparison file ({err})") from err
    defaults = defaults or {}

    def field(record: Mapping[str, Any], name: str) -> Any:
        value: Any = record
        for part in name.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return defaults.get(name)
            value = value[part]
        return value

    return [r for r in results if isinstance(r, Mapping) and all(field(r, k) == v for k, v in wanted.items())]


def split_resumed(
    records: list[dict[str, Any]], in_run: Callable[[Mapping[str, Any]], bool], path: Any, label: Callable[[Any], str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split the records :func:`kept_results` found into those this run names (kept, not run
    again) and the others (carried: left in the file and table as they are); says which."""
    from ..output import console

    kept = [r for r in records if in_run(r)]
    carried = [r for r in records if not in_run(r)]
    for verb, group in (("kept", kept), ("carried over", carried)):
        if group:
            console.print(f"{verb} {len(group)} results from {path}: " + ", ".join(label(r) for r in group))
    return kept, carried
