"""The organiser's secrets of a phase: seeds drawn from the operating system's entropy.

Everything a participant can see (the package's source, its defaults, the input folder, the
public pages) must not let them compute a phase's truth. So the data of a submission run, the
shuffles that hide the labels in the row order and the test plan's true signal strengths come
from seeds drawn here (``secrets.randbits``), never from a default or public seed. They are
recorded in ``ORGANISER_DIR/secrets.json`` (mode 0600, inside the organiser folder the sandbox
never sees), so the organiser can reproduce the phase.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

SECRETS_FILE = "secrets.json"


def secret_seed() -> int:
    """A 63-bit seed from the operating system's entropy."""
    return secrets.randbits(63)


def record_secrets(organiser_dir: str | Path, **values: Any) -> Path:
    """Merge ``values`` into ``organiser_dir/secrets.json``, readable by its owner only."""
    path = Path(organiser_dir) / SECRETS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    known = read_secrets(organiser_dir)
    known.update(values)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(known, indent=1, sort_keys=True) + "\n")
    path.chmod(0o600)  # also when the file existed with a wider mode
    return path


def read_secrets(organiser_dir: str | Path) -> dict[str, Any]:
    """The secrets recorded for a phase (empty when none were)."""
    path = Path(organiser_dir) / SECRETS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def seed_or_secret(seed: int | None) -> int:
    """The seed the organiser chose, or a secret one for None."""
    return secret_seed() if seed is None else int(seed)
