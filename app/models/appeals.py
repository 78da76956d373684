"""Appeals (申诉) against a rejected record or a refused trip, and the refused trips kept for them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class TripRefusal(db.Model):
    """A trip POST /trips refused as implausible (422 implausible_trip): nothing was credited, but the
    refusal is kept so that the user can appeal it; the raw track goes after TRACK_RETENTION_DAYS."""

    __tablename__ = "trip_refusals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    mode: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(32))  # details.reason of the 422 (segment_too_fast ...)
    details: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))  # the refusal's facts
    # The summary as measured from the track (null when there were too few points to measure it).
    distance_km = mapped_column(FixedDecimal(3), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    point_count: Mapped[int] = mapped_column(sa.Integer)
    track: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))
    track_digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.Index("ix_trip_refusals_user", "user_id", "id"),)


class AppealStatus:
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"
    ALL = (PENDING, GRANTED, DENIED)


class Appeal(db.Model):
    """One appeal per rejected record or refused trip (the unique keys say so), decided once."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"), unique=True)
    trip_refusal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trip_refusals.id"), unique=True)
    text: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16))
    # The first decision as it stood when appealed (granting overwrites the record's own fields):
    # who rejected it (null for a trip: the automatic check) and why.
    first_decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    first_reason: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    outcome_reason: Mapped[str | None] = mapped_column(sa.String(255))
    # The record credited by a grant: the appealed record itself, or the travel record of a refused trip.
    granted_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"))

    record = relationship("Record", foreign_keys=[record_id])
    trip_refusal: Mapped[TripRefusal | None] = relationship()
    granted_record = relationship("Record", foreign_keys=[granted_record_id])
    user = relationship("User")

    __table_args__ = (
        sa.Index("ix_appeals_user_newest", "user_id", "id"),
        sa.Index("ix_appeals_queue", "status", "id"),
    )
