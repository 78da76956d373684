"""The account summary a user sees: balance, this year's earnings and grams, lifetime totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select

from app import reads
from app.models import Account, PeriodPoints, Record, RecordStatus, User
from app.services import clock, leaderboard, users


@dataclass(frozen=True)
class AccountSummary:
    balance_points: Decimal
    earned_points_year: Decimal
    spent_points_total: Decimal
    co2_g_total: Decimal
    co2_g_year: Decimal


# Built once, on the tables: GET /me reads it on every request, and building the ORM statements
# each time cost more than the database takes to answer them.
_ACCOUNTS, _RECORDS, _PERIODS, _USERS = Account.__table__, Record.__table__, PeriodPoints.__table__, User.__table__


def _totals(user_id):
    """The columns of an account's summary, for the user `user_id` (a bound id, or a joined column)."""
    return (_ACCOUNTS.c.balance_points, _ACCOUNTS.c.spent_points_total, _ACCOUNTS.c.co2_g_total,
            select(func.sum(_RECORDS.c.co2_g))
            .where(_RECORDS.c.user_id == user_id, _RECORDS.c.status == RecordStatus.CREDITED,
                   _RECORDS.c.day >= bindparam("year_start"))
            .scalar_subquery(),
            # The year's leaderboard total: earnings only (a refunded redemption is not earned).
            select(_PERIODS.c.points)
            .where(_PERIODS.c.period == "year", _PERIODS.c.period_start == bindparam("points_year_start"),
                   _PERIODS.c.user_id == user_id)
            .scalar_subquery())


_TOTALS = reads.Read(select(*_totals(bindparam("user_id"))).where(_ACCOUNTS.c.user_id == bindparam("user_id")))
# The token's check and the summary in one statement: on a database server each is a round trip.
_TOTALS_OF_SIGNED_IN = reads.Read(users.SIGNED_IN.add_columns(*_totals(_USERS.c.id))
                                  .join(_ACCOUNTS, _ACCOUNTS.c.user_id == _USERS.c.id))


def account_summary(user_id: int) -> AccountSummary:
    return _summary(_TOTALS.first({"user_id": user_id, **_year_params()}))


def signed_in_summary(token: str | None) -> tuple[users.SignedInUser, AccountSummary]:
    """The user behind a live bearer token and their summary, read together (401 as users.authenticate)."""
    user, totals = users.authenticate_with(token, _TOTALS_OF_SIGNED_IN, _year_params())
    return user, _summary(totals)


def _year_params() -> dict:
    now = clock.now()
    # Points accumulate per calendar year in the users' time zone (seed §2.2: 每年累积).
    return {"year_start": date(clock.local_day(now).year, 1, 1),
            "points_year_start": leaderboard.period_starts(now)["year"]}


def _summary(totals: tuple) -> AccountSummary:
    balance, spent, co2_total, co2_year, earned_year = totals
    return AccountSummary(
        balance_points=balance,
        earned_points_year=earned_year if earned_year is not None else Decimal("0.0"),
        spent_points_total=spent,
        co2_g_total=co2_total,
        co2_g_year=co2_year or Decimal("0.00"),
    )
