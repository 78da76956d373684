"""Idempotency keys: the first answer to a creating POST, replayed to its retries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(64))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int | None] = mapped_column(sa.Integer)  # null while in flight
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)
