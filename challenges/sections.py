"""Marked sections of a Markdown file that a command rewrites (e.g. the comparison tables of
``docs/results.md``), leaving the rest of the file as it was written by hand."""

from __future__ import annotations

import re
from pathlib import Path


def section_markers(name: str) -> tuple[str, str]:
    """The HTML comments that open and close section ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(path: str | Path, section: str) -> Path:
    """Replace the section of a Markdown file that ``section`` is (append it when absent).

    ``section`` starts with its begin marker and ends with its end marker (``section_markers``).
    """
    path = Path(path)
    first = section.lstrip().splitlines()[0] if section.strip() else ""
    found = re.fullmatch(r"<!-- (.+):begin -->", first.strip())
    if not found:
        raise ValueError(f"a section must start with a '<!-- NAME:begin -->' marker, got {first[:60]!r}")
    begin, end = section_markers(found.group(1))
    if end not in section:
        raise ValueError(f"section {found.group(1)!r} lacks its end marker {end}")
    text = path.read_text() if path.exists() else "# Results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
