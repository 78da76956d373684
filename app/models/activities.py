"""Low-carbon activities (公园清洁, 旧衣捐赠) users sign up for, and their check-ins."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class Activity(db.Model):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    lat: Mapped[float] = mapped_column(sa.Double)
    lng: Mapped[float] = mapped_column(sa.Double)
    address: Mapped[str] = mapped_column(sa.String(255))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(sa.Integer)
    signed_up: Mapped[int] = mapped_column(sa.Integer, default=0)
    points = mapped_column(FixedDecimal(1), nullable=False, default=0)  # for attending
    checkin_code: Mapped[str] = mapped_column(sa.String(16))  # shown at the event
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("signed_up >= 0 AND signed_up <= capacity", name="within_capacity"),
        sa.Index("ix_activities_upcoming", "starts_at"),
    )


class ActivitySignup(db.Model):
    __tablename__ = "activity_signups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("activity_id", "user_id"),)
