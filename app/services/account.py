"""The account summary a user sees: balance, this year's earnings and grams, lifetime totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Record, RecordStatus
from app.services import clock, leaderboard


@dataclass(frozen=True)
class AccountSummary:
    balance_points: Decimal
    earned_points_year: Decimal
    spent_points_total: Decimal
    co2_g_total: Decimal
    co2_g_year: Decimal


def account_summary(user_id: int) -> AccountSummary:
    now = clock.now()
    account = db.session.get(Account, user_id)
    # Points accumulate per calendar year in the users' time zone (seed §2.2: 每年累积): the year's
    # leaderboard total, which counts earnings only (a refunded redemption is not earned).
    earned_year = leaderboard.points_in_period(user_id, "year", now)
    co2_year = db.session.scalar(
        select(func.sum(Record.co2_g))
        .where(Record.user_id == user_id, Record.status == RecordStatus.CREDITED,
               Record.day >= date(clock.local_day(now).year, 1, 1)))
    return AccountSummary(
        balance_points=account.balance_points,
        earned_points_year=earned_year,
        spent_points_total=account.spent_points_total,
        co2_g_total=account.co2_g_total,
        co2_g_year=co2_year or Decimal("0.00"),
    )
