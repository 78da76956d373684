"""Staff of the web admin (moderators and admins), their login sessions, and the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class StaffRole:
    MODERATOR = "moderator"
    ADMIN = "admin"
    ALL = (MODERATOR, ADMIN)


class Staff(db.Model):
    """An admin account, separate from mini program users."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSession(db.Model):
    """A server-side login session: the cookie carries only its random id (stored hashed), so logout
    and password change end it for good, even for a copied cookie."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    staff: Mapped[Staff] = relationship()


class LoginAttempt(db.Model):
    """Failed admin logins, counted per username and per IP to throttle password guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(45))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.Index("ix_login_attempts_username", "username", "attempted_at"),
        sa.Index("ix_login_attempts_ip", "ip", "attempted_at"),
    )


class AuditEntry(db.Model):
    """Every moderation decision and staff action, readable by admins."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"))
    details: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff: Mapped[Staff | None] = relationship()
