"""participants: identities with hashed tokens; submissions.participant_key (limits per identity)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False, server_default=""),
        sa.Column("role", sa.String(length=16), nullable=False, server_default="participant"),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("key", name=op.f("uq_participants_key")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_participants_token_sha256")),
    )
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("participant_key", sa.String(length=200), nullable=False, server_default=""))
        batch.create_index("ix_submissions_participant_key", ["participant_key"])
    # Submissions made before identities count under their normalised names.
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer),
        sa.column("participant", sa.String),
        sa.column("participant_key", sa.String),
    )
    connection = op.get_bind()
    from hepbench.leaderboard.identities import identity_key

    for row_id, participant in connection.execute(sa.select(submissions.c.id, submissions.c.participant)).all():
        connection.execute(
            submissions.update().where(submissions.c.id == row_id).values(participant_key=identity_key(participant))
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_participant_key")
        batch.drop_column("participant_key")
    op.drop_table("participants")
