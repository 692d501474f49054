"""The demo's leaderboard: baseline run records ranked and published as a static site."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..challenges import Challenge


def rank(challenge: Challenge, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order run records by the challenge's ranking metrics (primary first, then tie-breakers)."""
    return sorted(
        records,
        key=lambda r: tuple(
            -r["metrics"][m.name] if m.higher_is_better else r["metrics"][m.name] for m in challenge.ranking
        ),
    )


def demo_leaderboard(home: Path, records: list[dict[str, Any]]) -> Path:
    """A fresh leaderboard at ``home`` holding ``records`` as scored baselines; returns the static
    site's index.html."""
    from .db import open_store
    from .imports import add_records
    from .pages import build_site
    from .queue import work
    from .submissions import sync_challenges

    if home.exists():
        shutil.rmtree(home)
    store = open_store(home, f"sqlite:///{(home / 'leaderboard.db').resolve()}")
    try:
        sync_challenges(store)
        add_records(store, records, source="demo")
        work(store)
        return build_site(store, home / "site")
    finally:
        store.close()
