"""Recorded low-carbon behaviours and the green-trip details behind them."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.factors import EmissionFactor
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class RecordStatus:
    PENDING = "pending"
    CREDITED = "credited"
    REJECTED = "rejected"


class Record(db.Model):
    __tablename__ = "records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    subtype: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    # Activity data in the factor's unit (km, kg, times, servings) or minutes for bedtimes.
    quantity = mapped_column(FixedDecimal(3), nullable=False)
    unit: Mapped[str] = mapped_column(sa.String(16))
    co2_g = mapped_column(FixedDecimal(2), nullable=False)
    points = mapped_column(FixedDecimal(1), nullable=False)
    factor_id: Mapped[int] = mapped_column(sa.ForeignKey("emission_factors.id"))
    # The user's local calendar day the behaviour belongs to (daily caps, one bedtime per night).
    day: Mapped[date] = mapped_column(sa.Date)
    # Set where the rules allow one record per something ("bedtime:2026-11-24"); the database enforces it.
    dedup_key: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    # Who reported it: "user" (the mini program) or "partner:<id>"; verified = seen by the operator itself.
    source: Mapped[str] = mapped_column(sa.String(32), default="user", server_default="user")
    verified: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    reject_reason: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    factor: Mapped[EmissionFactor] = relationship()
    user = relationship("User")
    trip: Mapped[Trip | None] = relationship(back_populates="record", uselist=False)
    photo = relationship("Photo", back_populates="record", uselist=False)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "dedup_key"),
        sa.Index("ix_records_user_newest", "user_id", "id"),
        sa.Index("ix_records_user_kind_day", "user_id", "kind", "day"),
        sa.Index("ix_records_review_queue", "status", "id"),
    )


class Trip(db.Model):
    """绿色出行: the measured trip behind a travel record, with its track kept for disputes."""

    __tablename__ = "trips"

    record_id: Mapped[int] = mapped_column(sa.ForeignKey("records.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    mode: Mapped[str] = mapped_column(sa.String(16))
    distance_km = mapped_column(FixedDecimal(3), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    point_count: Mapped[int] = mapped_column(sa.Integer)
    # Raw track, dropped after TRACK_RETENTION_DAYS; the resampled shape finds replays of it.
    track: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))
    shape: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))
    start_cell: Mapped[str] = mapped_column(sa.String(32))
    end_cell: Mapped[str] = mapped_column(sa.String(32))
    # The shape's duration in tenths of a second: a replay's is within seconds of its original's, so
    # the replay check reads only the kept shapes of its start cells and a few seconds' durations.
    shape_span_ds: Mapped[int | None] = mapped_column(sa.Integer)
    # SHA-256 of the submitted track: the database refuses the exact same track twice, even in a race.
    track_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)

    record: Mapped[Record] = relationship(back_populates="trip")

    __table_args__ = (
        sa.Index("ix_trips_user_started", "user_id", "started_at"),
        sa.Index("ix_trips_replay_lookup", "start_cell", "shape_span_ds"),
    )
