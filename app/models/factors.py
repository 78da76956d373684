"""The emission factor catalog: versioned rows, never rewritten once records use them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class EmissionFactor(db.Model):
    __tablename__ = "emission_factors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # "" where the seed names no subtype (bedtime, meal); the API shows it as null.
    subtype: Mapped[str] = mapped_column(sa.String(16), default="")
    version: Mapped[int] = mapped_column(sa.Integer)
    grams_per_unit = mapped_column(FixedDecimal(4), nullable=False)
    unit: Mapped[str] = mapped_column(sa.String(16))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("kind", "subtype", "version"),
        sa.Index("ix_emission_factors_lookup", "kind", "subtype", "valid_from"),
    )
