"""Mini program users, their consents to the privacy policy and their API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Null once the user deletes the account: the row stays, anonymised, so ledger totals stay right.
    openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64))
    # WeChat's session_key never leaves the server; kept to verify data the mini program signs later.
    session_key: Mapped[str | None] = mapped_column(sa.String(64))
    nickname: Mapped[str | None] = mapped_column(sa.String(64))
    avatar_url: Mapped[str | None] = mapped_column(sa.String(512))
    city: Mapped[str | None] = mapped_column(sa.String(64))
    privacy_version: Mapped[str] = mapped_column(sa.String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship(back_populates="user", uselist=False)


class Consent(db.Model):
    """Each agreement to a privacy policy version, with its time (PIPL: consent must be provable)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    version: Mapped[str] = mapped_column(sa.String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuthToken(db.Model):
    """A bearer token, stored only as its SHA-256: a leaked table gives no usable token."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Account(db.Model):
    """Cached totals of a user's ledger. The invariant: balance_points == sum of the user's entries."""

    __tablename__ = "accounts"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    balance_points = mapped_column(FixedDecimal(1), nullable=False, default=0)
    earned_points_total = mapped_column(FixedDecimal(1), nullable=False, default=0)
    spent_points_total = mapped_column(FixedDecimal(1), nullable=False, default=0)
    co2_g_total = mapped_column(FixedDecimal(2), nullable=False, default=0)

    __table_args__ = (sa.CheckConstraint("balance_points >= 0", name="balance_not_negative"),)

    user: Mapped[User] = relationship(back_populates="account")
