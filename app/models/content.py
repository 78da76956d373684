"""Articles (政策解读, 低碳小贴士, 碳市场) and admin-written reduction tips."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class Article(db.Model):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(16))  # policy | tips | market
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    cover_key: Mapped[str | None] = mapped_column(sa.String(64))
    markdown: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text)  # sanitised when saved, served as is
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")  # draft | published
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.Index("ix_articles_listing", "status", "category", "publish_at"),)


class Tip(db.Model):
    """An admin-written reduction suggestion shown beside the personal, rule-based ones."""

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    potential_co2_g = mapped_column(FixedDecimal(2))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
