"""Which optional extra provides a library: ``pip install 'hepbench[EXTRA]'``.

The core install reads, validates and scores data; training baselines needs ``[baselines]``,
running the leaderboard, the sandbox and Dask clusters needs ``[platform]``; ``[all]`` has both.
"""

from __future__ import annotations

EXTRAS: dict[str, str] = {
    **dict.fromkeys(("torch", "zuko", "xgboost", "iminuit", "fastjet", "awkward", "optuna"), "baselines"),
    **dict.fromkeys(
        (
            "sqlalchemy",
            "alembic",
            "psycopg",
            "fastapi",
            "uvicorn",
            "jinja2",
            "docker",
            "dask",
            "distributed",
            "starlette",
            "httpx",
        ),
        "platform",
    ),
    "pythia8mc": "pythia",
}


def missing_extra_hint(error: ModuleNotFoundError) -> str | None:
    """One line naming the extra to install for a missing optional library, or None when the
    missing module is not one of hepbench's optional dependencies."""
    top = (error.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    return f"this needs {top}, from the optional extra [{extra}]: pip install 'hepbench[{extra}]'"
