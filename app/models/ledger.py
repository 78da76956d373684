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


def _unique_when_set(column: str) -> sa.Index:
    """Unique (column, reason) over the entries that name one (migration 0012). An entry names one of the
    three at most, so on SQLite and PostgreSQL the index leaves the others out (NULLs never clash anyway)
    and an entry writes one index page instead of three. MariaDB has no partial index: it keeps them all."""
    where = sa.text(f"{column} IS NOT NULL")
    return sa.Index(f"uq_ledger_entries_{column}_reason", column, "reason", unique=True,
                    sqlite_where=where, postgresql_where=where)


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
        # The database itself refuses a second credit of one record, redemption or sign-up.
        *(_unique_when_set(column) for column in ("record_id", "redemption_id", "signup_id")),
        sa.Index("ix_ledger_entries_user_newest", "user_id", "id"),
    )
