"""The leaderboard's tables (SQLAlchemy 2.x declarative models).

A challenge has phases (a public and a hidden test split); a submission is one payload file sent
to one phase by one participant; its run records the queue state (queued, running, scored,
failed) and the attempts; scoring writes metric values and artefacts (plots, JSON).
Timestamps are naive UTC everywhere (SQLite keeps no time zone).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

QUEUED, RUNNING, SCORED, FAILED = "queued", "running", "scored", "failed"
RUN_STATES = (QUEUED, RUNNING, SCORED, FAILED)


def utcnow() -> dt.datetime:
    """The current time as naive UTC (what every timestamp column holds)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ChallengeRow(Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    phases: Mapped[list[PhaseRow]] = relationship(back_populates="challenge", order_by="PhaseRow.position")


class PhaseRow(Base):
    """One test split of a challenge. Scores of a phase with ``hidden`` set are shown only once
    ``revealed`` is set by the organiser."""

    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("challenge_id", "slug", name="uq_phases_challenge_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    plan_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Test plan JSON holding the hidden truth that answers are scored against (None: the payload
    is a run record whose pseudo-experiment rows carry their own truth)."""
    max_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    """Submissions are refused before it (None: open from the start)."""
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    """Submissions are refused from it on (None: never closes)."""
    sandbox_limits: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON of the sandbox limits code submissions of this phase run under
    (``phase_settings.LIMIT_FIELDS`` keys; None: the sandbox's defaults)."""
    data_preset: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Set when the phase's secret data are made on first use: the challenge's data preset."""
    data_seed_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Where that first use draws the data seed from (``entropy``)."""

    challenge: Mapped[ChallengeRow] = relationship(back_populates="phases")

    @property
    def scores_visible(self) -> bool:
        """Whether this phase's scores may be shown to the public."""
        return not self.hidden or self.revealed

    @property
    def truth_visible(self) -> bool:
        """Whether artefacts derived from the phase's hidden truth may be shown: once the organiser
        closes the phase (``--reveal``), or always in a phase without hidden truth (baseline run
        records carry their own)."""
        return self.plan_path is None or self.revealed


class ParticipantRow(Base):
    """An identity that may submit (``participant``) or run the competition (``organiser``)."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """The name normalised (``identities.identity_key``): one identity however it is typed."""
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    role: Mapped[str] = mapped_column(String(16), default="participant", server_default="participant")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("phase_id", "participant", "payload_sha256", name="uq_submissions_phase_participant_payload"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    participant: Mapped[str] = mapped_column(String(200), index=True)
    participant_key: Mapped[str] = mapped_column(String(200), index=True, default="", server_default="")
    """The identity the phase's limits count against (``identities.identity_key`` of the name)."""
    method: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    payload_path: Mapped[str] = mapped_column(Text)
    """Relative to the leaderboard's home folder."""
    payload_sha256: Mapped[str] = mapped_column(String(64))

    phase: Mapped[PhaseRow] = relationship()
    run: Mapped[RunRow] = relationship(back_populates="submission", uselist=False)
    metrics: Mapped[list[MetricValueRow]] = relationship(
        back_populates="submission", order_by="MetricValueRow.id", cascade="all, delete-orphan"
    )
    artefacts: Mapped[list[ArtefactRow]] = relationship(
        back_populates="submission", order_by="ArtefactRow.id", cascade="all, delete-orphan"
    )


class RunRow(Base):
    """The queue entry of a submission: one row per submission, updated in place."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    submission: Mapped[SubmissionRow] = relationship(back_populates="run")


class MetricValueRow(Base):
    __tablename__ = "metric_values"
    __table_args__ = (UniqueConstraint("submission_id", "name", name="uq_metric_values_submission_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True)
    """One standard deviation where the metric has one (e.g. the bootstrap over sets)."""

    submission: Mapped[SubmissionRow] = relationship(back_populates="metrics")


class ArtefactRow(Base):
    __tablename__ = "artefacts"
    __table_args__ = (UniqueConstraint("submission_id", "name", name="uq_artefacts_submission_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    """File name, e.g. ``coverage_per_set.png``."""
    kind: Mapped[str] = mapped_column(String(16))
    """``plot`` or ``json``."""
    title: Mapped[str] = mapped_column(String(200), default="")
    path: Mapped[str] = mapped_column(Text)
    """Relative to the leaderboard's home folder."""
    sha256: Mapped[str] = mapped_column(String(64))
    truth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Derived from the phase's hidden truth (per-pseudo-experiment true mu, intervals against it):
    shown only once the phase is closed (``PhaseRow.truth_visible``)."""

    submission: Mapped[SubmissionRow] = relationship(back_populates="artefacts")
