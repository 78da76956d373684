"""The points ledger: append-only entries and the account totals kept in step with them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update

from app.database import write_transaction
from app.errors import Conflict
from app.extensions import db
from app.models import Account, LedgerEntry, LedgerReason, Record, RecordStatus
from app.models.types import utcnow


class InsufficientPoints(Conflict):
    code, message = "insufficient_points", "积分不足"


def open_account(user_id: int) -> Account:
    account = Account(user_id=user_id, balance_points=Decimal(0), earned_points_total=Decimal(0),
                      spent_points_total=Decimal(0), co2_g_total=Decimal(0))
    db.session.add(account)
    return account


def post_entry(user_id: int, points: Decimal, reason: str, *, record_id: int | None = None,
               redemption_id: int | None = None, co2_g: Decimal = Decimal(0)) -> LedgerEntry:
    """Append one entry and move the account totals by it, in the caller's transaction.

    A debit is a conditional UPDATE (balance + points >= 0), so concurrent debits can never take a
    balance below zero however they interleave; the unique (record_id, reason) constraint refuses a
    second credit of the same record even when two requests race past every check in Python.
    """
    with write_transaction():
        entry = LedgerEntry(user_id=user_id, points=points, reason=reason, record_id=record_id,
                            redemption_id=redemption_id)
        db.session.add(entry)
        db.session.flush()
        earned = points if points > 0 else Decimal(0)
        spent = -points if points < 0 else Decimal(0)
        moved = db.session.execute(
            update(Account)
            .where(Account.user_id == user_id, Account.balance_points + points >= 0)
            .values(balance_points=Account.balance_points + points,
                    earned_points_total=Account.earned_points_total + earned,
                    spent_points_total=Account.spent_points_total + spent,
                    co2_g_total=Account.co2_g_total + co2_g)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            raise InsufficientPoints()
        return entry


def credit_record(record: Record) -> LedgerEntry | None:
    """Mark a record credited and book its points; a record with 0 points gets no entry."""
    with write_transaction():
        record.status = RecordStatus.CREDITED
        record.decided_at = utcnow()
        db.session.flush()
        if record.points == 0:
            if record.co2_g:
                _add_co2(record.user_id, record.co2_g)
            return None
        return post_entry(record.user_id, record.points, LedgerReason.RECORD_CREDIT,
                          record_id=record.id, co2_g=record.co2_g)


def _add_co2(user_id: int, co2_g: Decimal) -> None:
    db.session.execute(update(Account).where(Account.user_id == user_id)
                       .values(co2_g_total=Account.co2_g_total + co2_g)
                       .execution_options(synchronize_session=False))


def ledger_sum(user_id: int) -> Decimal:
    total = db.session.scalar(select(func.sum(LedgerEntry.points)).where(LedgerEntry.user_id == user_id))
    return total if total is not None else Decimal("0.0")
