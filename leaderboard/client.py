"""The participant's side of the submission API: upload a file with a progress bar, list one's
submissions. Standard library HTTP only, so the core install can submit."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 16


class ServerError(RuntimeError):
    """The server refused the request; the message is its one-line reason and the HTTP status."""


def _request(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        try:
            detail = json.loads(err.read()).get("detail", "")
        except (json.JSONDecodeError, AttributeError):
            detail = ""
        raise ServerError(f"{request.full_url}: {err.code} {err.reason}" + (f": {detail}" if detail else "")) from None
    except urllib.error.URLError as err:
        raise ServerError(f"{request.full_url}: cannot reach the server ({err.reason})") from None


def _chunks(path: Path, on_bytes: Any) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            on_bytes(len(block))
            yield block


def upload(
    server: str,
    challenge: str,
    phase: str,
    path: str | Path,
    *,
    method: str,
    token: str,
    description: str = "",
    on_bytes: Any = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """POST ``path`` as a submission; the server's answer (``submission``, ``created``, ``sha256``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    kind = "tar.gz" if path.name.lower().endswith((".tar.gz", ".tgz")) else path.suffix.lstrip(".").lower()
    query = urllib.parse.urlencode({"method": method, "format": kind, "description": description})
    url = f"{server.rstrip('/')}/api/challenges/{challenge}/{phase}/submissions?{query}"
    request = urllib.request.Request(
        url,
        data=_chunks(path, on_bytes or (lambda n: None)),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Length": str(path.stat().st_size),
            "Content-Type": "application/octet-stream",
        },
    )
    return _request(request, timeout)


def my_submissions(server: str, token: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The token holder's submissions with their states (scores where the phase shows them)."""
    request = urllib.request.Request(
        f"{server.rstrip('/')}/api/me/submissions", headers={"Authorization": f"Bearer {token}"}
    )
    return _request(request, timeout)
