"""phases: start and end dates, sandbox limits, data made on first use (preset, seed source)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN (SQLite >= 3.35 has both), never a batch copy of ``phases``: with
# foreign keys on, SQLite's DROP TABLE of the copy would cascade to every submission of the phase.
COLUMNS = (
    ("starts_at", sa.DateTime),
    ("ends_at", sa.DateTime),
    ("sandbox_limits", sa.Text),
    ("data_preset", lambda: sa.String(length=32)),
    ("data_seed_source", lambda: sa.String(length=32)),
)


def upgrade() -> None:
    # All nullable: existing phases stay open, under the default limits, with the data they have.
    for name, kind in COLUMNS:
        op.add_column("phases", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("phases", name)
