"""Rewards bought with points (绿色出行优惠券, 环保产品折扣) and their redemptions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class Reward(db.Model):
    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    image_key: Mapped[str | None] = mapped_column(sa.String(64))
    cost_points = mapped_column(FixedDecimal(1), nullable=False)
    stock_total: Mapped[int] = mapped_column(sa.Integer)
    stock_left: Mapped[int] = mapped_column(sa.Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("stock_left >= 0", name="stock_not_negative"),
        sa.CheckConstraint("stock_left <= stock_total", name="stock_within_total"),
        sa.CheckConstraint("cost_points > 0", name="cost_positive"),
    )


class RedemptionStatus:
    ISSUED = "issued"
    CANCELLED = "cancelled"


class Redemption(db.Model):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(sa.ForeignKey("rewards.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    coupon_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    points = mapped_column(FixedDecimal(1), nullable=False)  # what it cost, positive
    status: Mapped[str] = mapped_column(sa.String(16), default=RedemptionStatus.ISSUED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    reward: Mapped[Reward] = relationship()

    __table_args__ = (sa.Index("ix_redemptions_user_newest", "user_id", "id"),)
