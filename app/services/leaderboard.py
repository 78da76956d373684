"""Leaderboards (排行榜): per-period point totals kept with the ledger, and the boards that read them.

Every earning moves three rows of period_points (its week, month and year in the users' calendar) in
the same transaction as its ledger entry, so a board reads an index instead of summing the ledger:
the top N is one ordered range of ix_period_points_board, "my rank" is one COUNT over the same index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Integer, and_, bindparam, delete, func, insert, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from app.errors import ValidationFailed
from app.extensions import db
from app.models import Friendship, PeriodPoints, User
from app.services import clock

PERIODS = ("week", "month", "year")
SCOPES = ("friends", "all")
ZERO = Decimal("0.0")


def period_start(period: str, day: date) -> date:
    """First local day of the ISO week (Monday), calendar month or calendar year holding `day`."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def period_starts(moment: datetime) -> dict[str, date]:
    day = clock.local_day(moment)
    return {period: period_start(period, day) for period in PERIODS}


# Built once: the hook runs with every earning, and a prebuilt Core statement skips most of the
# per-statement work SQLAlchemy does for an ORM update() (three times cheaper here).
_ROWS = PeriodPoints.__table__
_DELTA = bindparam("p_points", type_=_ROWS.c.points.type)
_ADD_TO_ALL = (  # the common case: the week, month and year rows all exist, one statement moves them
    update(_ROWS)
    .where(_ROWS.c.user_id == bindparam("p_user"),
           or_(*(and_(_ROWS.c.period == period, _ROWS.c.period_start == bindparam(f"p_{period}"))
                 for period in PERIODS)))
    .values(points=_ROWS.c.points + _DELTA))
_ADD = (update(_ROWS)
        .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
               _ROWS.c.user_id == bindparam("p_user"))
        .values(points=_ROWS.c.points + _DELTA))
_INSERT = insert(_ROWS).values(period=bindparam("p_period"), period_start=bindparam("p_start"),
                               user_id=bindparam("p_user"), points=_DELTA)

# The boards' reads, built once too: every GET /leaderboard runs them, and building them cost two to
# three times what the database takes to answer.
_USERS, _FRIENDSHIPS = User.__table__, Friendship.__table__
_POINTS_OF_USER = select(_ROWS.c.points).where(
    _ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
    _ROWS.c.user_id == bindparam("p_user"))


def _members(query):
    return (query.outerjoin(_ROWS, (_ROWS.c.period == bindparam("p_period"))
                            & (_ROWS.c.period_start == bindparam("p_start")) & (_ROWS.c.user_id == _USERS.c.id))
            .where(_USERS.c.deleted_at.is_(None)))


_MEMBER_COLUMNS = (_USERS.c.id, _USERS.c.nickname, _USERS.c.avatar_url, _ROWS.c.points)
# One statement of fixed shape (the friends by the friendships key, and me): no IN list to bind.
_FRIENDS_AND_ME = union_all(
    _members(select(*_MEMBER_COLUMNS).select_from(_FRIENDSHIPS).join(_USERS, _USERS.c.id == _FRIENDSHIPS.c.friend_id)
             .where(_FRIENDSHIPS.c.user_id == bindparam("p_user"))),
    _members(select(*_MEMBER_COLUMNS).where(_USERS.c.id == bindparam("p_user"))))
# Ties go newest account first: the index's own order read backwards, so no database sorts.
_TOP = (select(_ROWS.c.user_id, _USERS.c.nickname, _USERS.c.avatar_url, _ROWS.c.points)
        .join(_USERS, _USERS.c.id == _ROWS.c.user_id)
        .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
               _ROWS.c.points > 0, _USERS.c.deleted_at.is_(None))
        .order_by(_ROWS.c.period.desc(), _ROWS.c.period_start.desc(), _ROWS.c.points.desc(), _ROWS.c.user_id.desc())
        .limit(bindparam("p_limit", type_=Integer))
        # MariaDB would rather scan every user and sort: keep the join in the order written.
        .prefix_with("STRAIGHT_JOIN", dialect="mysql"))
_AHEAD = (select(func.count()).select_from(_ROWS)
          .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
                 _ROWS.c.points > bindparam("p_points", type_=_ROWS.c.points.type)))


def add_earning(user_id: int, points: Decimal, at: datetime) -> None:
    """Move the user's week, month and year totals by an earning, in the caller's transaction.

    The caller holds the user's account row locked (post_entry updates it first), so one user's
    earnings never interleave here. Usually one UPDATE moves all three rows. When a period has no
    row yet (its first earning), the rows that exist are read with a locking read (the ones the
    UPDATE moved; under MariaDB's repeatable read a plain read could miss a row committed since the
    snapshot) and each missing one is inserted inside a savepoint: should a concurrent transaction
    have inserted it first, the savepoint takes our INSERT back and an UPDATE adds to its row.
    """
    starts = period_starts(at)
    params = {"p_user": user_id, "p_points": points, **{f"p_{period}": start for period, start in starts.items()}}
    if db.session.execute(_ADD_TO_ALL, params).rowcount == len(PERIODS):
        return
    existing = set(db.session.execute(
        select(PeriodPoints.period, PeriodPoints.period_start)
        .where(PeriodPoints.user_id == user_id,
               or_(*(and_(PeriodPoints.period == p, PeriodPoints.period_start == s) for p, s in starts.items())))
        .with_for_update()).all())
    for period, start in starts.items():
        if (period, start) in existing:
            continue
        one = {"p_period": period, "p_start": start, "p_user": user_id, "p_points": points}
        try:
            with db.session.begin_nested():
                db.session.execute(_INSERT, one)
        except IntegrityError:
            if db.session.execute(_ADD, one).rowcount != 1:
                raise


def points_in_period(user_id: int, period: str, moment: datetime | None = None) -> Decimal:
    start = period_starts(moment or clock.now())[period]
    points = db.session.scalar(_POINTS_OF_USER, {"p_period": period, "p_start": start, "p_user": user_id})
    return points if points is not None else ZERO


def forget_user(user_id: int) -> None:
    """Take a deleted account off every board (call it in the deletion's transaction): its rows would
    otherwise still count in other users' "my rank"."""
    db.session.execute(delete(PeriodPoints).where(PeriodPoints.user_id == user_id)
                       .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    user_id: int
    nickname: str | None
    avatar_url: str | None
    points: Decimal


@dataclass(frozen=True)
class Board:
    items: list[BoardEntry]
    my_rank: int
    my_points: Decimal


def parse_scope(value: str | None) -> str:
    return _choice("scope", value or "friends", SCOPES)


def parse_period(value: str | None) -> str:
    return _choice("period", value or "year", PERIODS)


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationFailed(details={"field": field, "allowed": list(allowed)})
    return value


def board(user_id: int, scope: str, period: str, *, limit: int = 20, now: datetime | None = None) -> Board:
    """The friends board (the user and all their friends, 0 points included) or the global top `limit`."""
    start = period_starts(now or clock.now())[period]
    if scope == "friends":
        return friends_board(user_id, period, start)
    return global_board(user_id, period, start, limit)


def _ranked(rows) -> list[BoardEntry]:
    """Competition ranking (1, 1, 3) of rows already sorted highest first."""
    entries: list[BoardEntry] = []
    for position, (uid, nickname, avatar_url, points) in enumerate(rows, start=1):
        rank = entries[-1].rank if entries and entries[-1].points == points else position
        entries.append(BoardEntry(rank, uid, nickname, avatar_url, points))
    return entries


def friends_board(user_id: int, period: str, start: date) -> Board:
    found = db.session.execute(_FRIENDS_AND_ME, {"p_user": user_id, "p_period": period, "p_start": start})
    rows = sorted(((uid, nick, avatar, points if points is not None else ZERO) for uid, nick, avatar, points in found),
                  key=lambda r: (r[3], r[0]), reverse=True)
    items = _ranked(rows)
    mine = next(e for e in items if e.user_id == user_id)
    return Board(items, mine.rank, mine.points)


def global_board(user_id: int, period: str, start: date, limit: int) -> Board:
    items = top(period, start, limit)
    mine = next((e for e in items if e.user_id == user_id), None)
    if mine is not None:
        return Board(items, mine.rank, mine.points)
    points = db.session.scalar(_POINTS_OF_USER, {"p_period": period, "p_start": start, "p_user": user_id})
    points = points if points is not None else ZERO
    return Board(items, rank_in_period(period, start, points), points)


def top(period: str, start: date, limit: int) -> list[BoardEntry]:
    """The `limit` highest totals of one period: one ordered range of the board index."""
    return _ranked(db.session.execute(_TOP, {"p_period": period, "p_start": start, "p_limit": limit}).all())


def rank_in_period(period: str, start: date, points: Decimal) -> int:
    """1 + how many have more points: one COUNT over the board index, no join, no sum."""
    return 1 + db.session.scalar(_AHEAD, {"p_period": period, "p_start": start, "p_points": points})
