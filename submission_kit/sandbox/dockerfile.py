"""What a submission's Dockerfile may ask of the daemon that builds it.

A build runs on the organiser's daemon, which does some of its work outside any container: it
pulls a ``FROM`` image that is missing, fetches ``ADD`` URLs over the host's network, and copies
from any local image with ``COPY --from``. A submission's Dockerfile may therefore start only
from the organiser's base image (``FROM ${BASE_IMAGE}`` or its tag) or an earlier stage of its
own, copy only from its own stages and its build context, and declares no volume and no
``ONBUILD`` trigger. The check is conservative: what it cannot read plainly is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_DOCKERFILE_BYTES = 1 << 20
BASE_ARG_FORMS: tuple[str, ...] = ("${BASE_IMAGE}", "$BASE_IMAGE")
REFUSED: dict[str, str] = {
    "ONBUILD": "ONBUILD triggers run in later builds",
    "VOLUME": "a volume lives outside the output cap and outlives the run",
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=")


def instructions(text: str) -> list[tuple[int, str, str]]:
    """``(line number, INSTRUCTION, arguments)`` of a Dockerfile, continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not out and not pending and _DIRECTIVE.match(line):
            raise ValueError(f"line {number}: parser directive {line!r} is not accepted")
        if not line or line.startswith("#"):
            continue  # comments end no instruction, even inside a continuation
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, args = (pending + line).partition(" ")
        out.append((start, word.upper(), args.strip()))
        pending = ""
    if pending.strip():
        word, _, args = pending.strip().partition(" ")
        out.append((start, word.upper(), args.strip()))
    return out


def check_dockerfile(path: str | Path, base_image: str) -> None:
    """Refuse (ValueError naming the file and line) a Dockerfile that reaches past its context
    and the organiser's ``base_image``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no Dockerfile")
    if path.stat().st_size > MAX_DOCKERFILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_DOCKERFILE_BYTES >> 10} KiB")
    try:
        found = instructions(path.read_text())
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    stages: list[str] = []
    for number, word, args in found:
        where = f"{path}:{number}: {word}"
        if word in REFUSED:
            raise ValueError(f"{where} is not accepted ({REFUSED[word]})")
        tokens = args.split()
        if word == "FROM":
            if not tokens or tokens[0].startswith("--"):
                raise ValueError(f"{where} takes an image and no options")
            image = tokens[0]
            if image not in (*BASE_ARG_FORMS, base_image) and image.lower() not in stages:
                raise ValueError(
                    f"{where} {image!r}: a submission builds FROM ${{BASE_IMAGE}} ({base_image}) or its own "
                    "earlier stage, nothing else is pulled or read"
                )
            alias = tokens[2].lower() if len(tokens) >= 3 and tokens[1].upper() == "AS" else str(len(stages))
            stages.append(alias)
        elif word in ("COPY", "ADD"):
            for token in tokens:
                if not token.startswith("--"):
                    break
                name, _, value = token[2:].partition("=")
                if (
                    name.lower() == "from"
                    and value.lower() not in stages[:-1]
                    and not (value.isdigit() and int(value) < len(stages) - 1)
                ):
                    raise ValueError(f"{where} --from={value}: only an earlier stage of this Dockerfile")
            if word == "ADD" and ("://" in args or "git@" in args):
                raise ValueError(f"{where} fetches a URL, which the daemon would do on the host's network")
    if not stages:
        raise ValueError(f"{path}: no FROM instruction")
