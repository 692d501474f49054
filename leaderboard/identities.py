"""Who may submit: participants and organisers, each with a secret token stored hashed.

A name is one identity whatever way it is typed: names are compared by their key, the name in
Unicode NFKC, case-folded, with zero-width and other invisible format characters removed and
runs of white space made one space. The submission limits of a phase count per key, so
``Mallory``, ``mallory`` and ``mallory\\u200b`` share one budget and only one can be registered.
A token is shown once, when the identity is made, and only its sha256 is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from .db import Store
from .models import ParticipantRow, utcnow

ROLES = ("participant", "organiser")
_SPACE = re.compile(r"\s+")


class AuthenticationError(PermissionError):
    """No identity has this token, or it was revoked."""


def identity_key(name: str) -> str:
    """The key two spellings of one name share (NFKC, case-folded, no invisible characters)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cs", "Cn"))
    return _SPACE.sub(" ", text.casefold()).strip()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    id: int
    name: str
    key: str
    role: str


def add_identity(store: Store, name: str, *, email: str = "", role: str = "participant") -> tuple[Identity, str]:
    """Register ``name``; returns the identity and its token (shown once, kept hashed)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    display = _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip()
    key = identity_key(name)
    if not key:
        raise ValueError(f"{name!r} is not a name (nothing visible is left of it)")
    token = secrets.token_urlsafe(32)
    with store.transaction() as session:
        taken = session.scalar(select(ParticipantRow).where(ParticipantRow.key == key))
        if taken is not None:
            raise ValueError(
                f"{name!r} is already registered as {taken.name!r} (names are compared ignoring case, "
                "width and invisible characters)"
            )
        row = ParticipantRow(name=display, key=key, email=email.strip(), role=role, token_sha256=_hash(token))
        session.add(row)
        session.flush()
        return Identity(row.id, row.name, row.key, row.role), token


def revoke(store: Store, name: str, now: dt.datetime | None = None) -> Identity:
    """Revoke ``name``'s token: it authenticates nothing from now on (its submissions stay)."""
    with store.transaction() as session:
        row = session.scalar(select(ParticipantRow).where(ParticipantRow.key == identity_key(name)))
        if row is None:
            raise ValueError(f"no participant {name!r}")
        row.revoked_at = now or utcnow()
        return Identity(row.id, row.name, row.key, row.role)


def authenticate(store: Store, token: str, *, role: str | None = None) -> Identity:
    """The live identity holding ``token`` (of ``role`` when given), or AuthenticationError."""
    if not token:
        raise AuthenticationError("a token is needed (--token or $HEPBENCH_TOKEN)")
    with store.transaction() as session:
        row = session.scalar(select(ParticipantRow).where(ParticipantRow.token_sha256 == _hash(token)))
        if row is None:
            raise AuthenticationError("unknown token")
        if row.revoked_at is not None:
            raise AuthenticationError(f"the token of {row.name!r} was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
        if role is not None and row.role != role:
            raise AuthenticationError(f"{row.name!r} is a {row.role}, not an {role}")
        return Identity(row.id, row.name, row.key, row.role)


def registered(store: Store, key: str) -> bool:
    """Whether an identity holds this key (``identity_key`` of a name)."""
    with store.transaction() as session:
        return session.scalar(select(ParticipantRow.id).where(ParticipantRow.key == key)) is not None


def list_identities(store: Store) -> list[dict[str, object]]:
    with store.transaction() as session:
        rows = session.scalars(select(ParticipantRow).order_by(ParticipantRow.id)).all()
        return [
            {
                "name": r.name,
                "role": r.role,
                "email": r.email,
                "created": r.created_at.isoformat() + "Z",
                "revoked": None if r.revoked_at is None else r.revoked_at.isoformat() + "Z",
            }
            for r in rows
        ]
