"""artefacts.truth: plots and tables derived from a phase's hidden truth

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 20:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artefacts") as batch:
        batch.add_column(sa.Column("truth", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("artefacts") as batch:
        batch.drop_column("truth")
