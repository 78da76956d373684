"""The append-only points ledger: a balance is the sum of its entries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class LedgerReason:
    RECORD_CREDIT = "record_credit"
    REDEMPTION = "redemption"  # debit
    REDEMPTION_CANCEL = "redemption_cancel"  # the debit given back
    ACTIVITY_ATTENDANCE = "activity_attendance"
    # A record's credit taken back (negative): a GPS trip superseded by the operator's verified one.
    RECORD_REVERSAL = "record_reversal"
    # What counts as "earned" (leaderboards, earned_points_year); a refund is not an earning, and a
    # reversal is a negative earning, not a spending.
    EARNINGS = (RECORD_CREDIT, ACTIVITY_ATTENDANCE, RECORD_REVERSAL)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    points = mapped_column(FixedDecimal(1), nullable=False)  # signed: credits positive, debits negative
    reason: Mapped[str] = mapped_column(sa.String(32))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("records.id"))
    redemption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("redemptions.id"))
    signup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("activity_signups.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # The database itself refuses a second credit of one record.
        sa.UniqueConstraint("record_id", "reason"),
        sa.UniqueConstraint("redemption_id", "reason"),
        sa.UniqueConstraint("signup_id", "reason"),
        sa.Index("ix_ledger_entries_user_newest", "user_id", "id"),
    )
