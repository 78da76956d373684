"""The points ledger: append-only entries and the account totals kept in step with them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select, update

from app.database import Write, write_transaction
from app.errors import Conflict
from app.extensions import db
from app.models import Account, LedgerEntry, LedgerReason, Record, RecordStatus
from app.models.types import utcnow
from app.services import leaderboard


class InsufficientPoints(Conflict):
    code, message = "insufficient_points", "积分不足"


def open_account(user_id: int) -> Account:
    account = Account(user_id=user_id, balance_points=Decimal(0), earned_points_total=Decimal(0),
                      spent_points_total=Decimal(0), co2_g_total=Decimal(0))
    db.session.add(account)
    return account


# Built once, on the table (Core), and run as a Write: this runs on every entry.
# A debit is conditional (balance + points >= 0), so concurrent debits can never overdraw.
_ACCOUNTS = Account.__table__
_POINTS = bindparam("a_points", type_=_ACCOUNTS.c.balance_points.type)
_MOVE_ACCOUNT = Write(
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == bindparam("a_user"), _ACCOUNTS.c.balance_points + _POINTS >= 0)
    .values(balance_points=_ACCOUNTS.c.balance_points + _POINTS,
            earned_points_total=_ACCOUNTS.c.earned_points_total
            + bindparam("a_earned", type_=_ACCOUNTS.c.earned_points_total.type),
            spent_points_total=_ACCOUNTS.c.spent_points_total
            + bindparam("a_spent", type_=_ACCOUNTS.c.spent_points_total.type),
            co2_g_total=_ACCOUNTS.c.co2_g_total + bindparam("a_co2", type_=_ACCOUNTS.c.co2_g_total.type)))


# The entry goes in as one Core INSERT: an ORM add + flush cost more than the rest of post_entry
# together, and no caller needs the entry as an object (it gets the new entry's id).
_ENTRIES = LedgerEntry.__table__
_APPEND = Write.insert(_ENTRIES, ("user_id", "points", "reason", "record_id", "redemption_id", "signup_id",
                                  "created_at"), inserts_id=True)


def post_entry(user_id: int, points: Decimal, reason: str, *, record_id: int | None = None,
               redemption_id: int | None = None, signup_id: int | None = None,
               co2_g: Decimal = Decimal(0), at: datetime | None = None,
               earned_at: datetime | None = None) -> int:
    """Append one entry and move the account totals by it, in the caller's transaction; returns the
    entry's id.

    A debit is a conditional UPDATE (balance + points >= 0), so concurrent debits can never take a
    balance below zero however they interleave; the unique (record_id, reason) constraint refuses a
    second credit of the same record even when two requests race past every check in Python.
    An earning (LedgerReason.EARNINGS) also moves the leaderboards' week, month and year totals of
    the period holding `earned_at` (default: `at`, the entry's time, now by default), in this same
    transaction: a reversal takes its points from the week the reversed credit was earned in.
    """
    at = at or utcnow()
    with write_transaction():
        db.session.flush()  # whatever the caller changed goes first, as it did when the entry was flushed
        connection = db.session.connection()  # Core statements: the session's ORM layer adds nothing here
        entry_id = _APPEND.insert_id(connection, {
            "user_id": user_id, "points": points, "reason": reason, "record_id": record_id,
            "redemption_id": redemption_id, "signup_id": signup_id, "created_at": at})
        # Earned counts only earnings; a cancelled redemption's refund undoes the spending instead.
        earned = points if reason in LedgerReason.EARNINGS else Decimal(0)
        spent = (-points if (points < 0 and reason not in LedgerReason.EARNINGS)
                 or reason == LedgerReason.REDEMPTION_CANCEL else Decimal(0))
        moved = _MOVE_ACCOUNT.execute(connection, {"a_user": user_id, "a_points": points, "a_earned": earned,
                                                   "a_spent": spent, "a_co2": co2_g})
        if moved != 1:
            raise InsufficientPoints()
        if reason in LedgerReason.EARNINGS:
            # After the account row is locked by the UPDATE above: one user's earnings queue up there,
            # so they never race to insert the same period row (MariaDB would answer with a deadlock).
            leaderboard.add_earning(user_id, points, earned_at or at, connection)
        return entry_id


def credit_record(record: Record) -> int | None:
    """Mark a record credited and book its points (returns the entry's id); a record with 0 points
    gets no entry."""
    with write_transaction():
        record.status = RecordStatus.CREDITED
        record.decided_at = utcnow()
        db.session.flush()
        return book_credit(record)


def book_credit(record: Record) -> int | None:
    """Book the points of a record stored as credited (returns the entry's id), in the caller's
    transaction; a record with 0 points gets no entry, only its grams."""
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
