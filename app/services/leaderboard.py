"""Leaderboards (排行榜): per-period point totals kept with the ledger, and the boards that read them.

Every earning moves three rows of period_points (its week, month and year in the users' calendar) in
the same transaction as its ledger entry, so a board reads an index instead of summing the ledger:
the top N is one ordered range of ix_period_points_board. "My rank" reads a histogram kept beside
them (period_points_buckets: how many totals fall in each band of points), so it sums a few hundred
bands above mine and counts only the users inside my own band, never everyone ahead of me.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (BigInteger, Integer, and_, bindparam, case, delete, func, insert, literal_column, or_,
                        select, type_coerce, union_all, update)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.database import Write, write_transaction
from app import reads
from app.errors import ValidationFailed
from app.extensions import db
from app.models import Friendship, PeriodPoints, User
from app.models.social import PeriodPointsBucket
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


# The histogram's bands, in tenths of a point (totals are stored so): exact below 100 points, then
# three significant figures (bands of 1 point from 100 to 999.9, of 10 from 1,000 to 9,999.9, …).
# So there are at most about 900 bands a decade to sum, yet a band is never wider than 1% of the
# totals in it, where thousands of users may crowd; and only an earning that crosses into another
# band moves the histogram.
_EXACT_BELOW = 1000


def band_of(points: Decimal) -> tuple[Decimal, Decimal]:
    """(lowest total, width) of the histogram band holding `points`."""
    tenths = int(points.scaleb(1))
    if tenths < _EXACT_BELOW:
        return points, Decimal("0.1")
    width = 10 ** (len(str(tenths)) - 3)
    return Decimal(tenths - tenths % width).scaleb(-1), Decimal(width).scaleb(-1)


def band_floor_sql(tenths):
    """band_of's lowest total as SQL, over an integer count of tenths (for rebuild_histogram)."""
    whens = [(tenths < literal_column(str(10 ** digits)), tenths - tenths % literal_column(str(10 ** (digits - 3))))
             for digits in range(len(str(_EXACT_BELOW)), 20)]  # up to BigInteger's largest
    return case((tenths < literal_column(str(_EXACT_BELOW)), tenths), *whens, else_=tenths)


# Built once: the hook runs with every earning, and a prebuilt Core statement skips most of the
# per-statement work SQLAlchemy does for an ORM update() (three times cheaper here); the common case's
# statements run as Writes, on the driver's cursor.
_ROWS = PeriodPoints.__table__
_DELTA = bindparam("p_points", type_=_ROWS.c.points.type)
# An earning's three rows: the user's week, month and year.
_EARNING_ROWS = (_ROWS.c.user_id == bindparam("p_user"),
                 or_(*(and_(_ROWS.c.period == period, _ROWS.c.period_start == bindparam(f"p_{period}"))
                       for period in PERIODS)))


def _by_key_only(statement):
    """MariaDB, given one user's rows by key, could pick the board index (its (period, start) prefix
    fits too) and lock every row it reads there, other users' included: they deadlocked."""
    for dialect in ("mysql", "mariadb"):
        statement = statement.with_hint(selectable=_ROWS, text="FORCE INDEX (PRIMARY)", dialect_name=dialect)
    return statement


_ADD_TO_EACH = _by_key_only(  # the common case: the week, month and year rows all exist, one statement moves them
    update(_ROWS).where(*_EARNING_ROWS).values(points=_ROWS.c.points + _DELTA))
_ADD_TO_ALL = Write(_ADD_TO_EACH)
_ADD_TO_ALL_RETURNING = Write(_ADD_TO_EACH.returning(_ROWS.c.period, _ROWS.c.points))
_TOTALS_OF_USER = Write(  # MariaDB's way to the totals _ADD_TO_ALL left (rows it locked already)
    _by_key_only(select(_ROWS.c.period, _ROWS.c.points).where(*_EARNING_ROWS)).with_for_update())
# A period's first earning (one earning in several) runs these, in the ledger's transaction.
_ADD = Write(update(_ROWS)
             .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
                    _ROWS.c.user_id == bindparam("p_user"))
             .values(points=_ROWS.c.points + _DELTA))
_INSERT = Write(insert(_ROWS).values(period=bindparam("p_period"), period_start=bindparam("p_start"),
                                     user_id=bindparam("p_user"), points=_DELTA))
_INSERT_IF_NEW = {name: Write(dialect.insert(_ROWS)
                               .values(period=bindparam("p_period"), period_start=bindparam("p_start"),
                                       user_id=bindparam("p_user"), points=_DELTA)
                               .on_conflict_do_nothing().returning(_ROWS.c.user_id))  # a row back: ours went in
                  for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))}

# The boards' reads, built once too: every GET /leaderboard runs them, and building them cost two to
# three times what the database takes to answer. They run as app.reads statements, outside any
# transaction; _POINTS_OF_USER also serves add_earning (as a Write) inside the ledger's transaction.
_USERS, _FRIENDSHIPS = User.__table__, Friendship.__table__
_POINTS_OF_USER = select(_ROWS.c.points).where(
    _ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
    _ROWS.c.user_id == bindparam("p_user"))
_READ_POINTS_OF_USER = reads.Read(_POINTS_OF_USER)
_WRITE_POINTS_OF_USER = Write(_POINTS_OF_USER)


def _members(query):
    return (query.outerjoin(_ROWS, (_ROWS.c.period == bindparam("p_period"))
                            & (_ROWS.c.period_start == bindparam("p_start")) & (_ROWS.c.user_id == _USERS.c.id))
            .where(_USERS.c.deleted_at.is_(None)))


_MEMBER_COLUMNS = (_USERS.c.id, _USERS.c.nickname, _USERS.c.avatar_url, _ROWS.c.points)


def friends_and_me(user_id, *also):
    """The friends board's members, for the user `user_id` (a bound id, or a subquery), each row with the
    columns `also` after its own: one statement of fixed shape (the friends by the friendships key, and
    me; no IN list to bind)."""
    return union_all(
        _members(select(*_MEMBER_COLUMNS, *also).select_from(_FRIENDSHIPS)
                 .join(_USERS, _USERS.c.id == _FRIENDSHIPS.c.friend_id).where(_FRIENDSHIPS.c.user_id == user_id)),
        _members(select(*_MEMBER_COLUMNS, *also).where(_USERS.c.id == user_id)))


_FRIENDS_AND_ME = reads.Read(friends_and_me(bindparam("p_user")))
# Ties go newest account first: the index's own order read backwards, so no database sorts.
_TOP = reads.Read(
    select(_ROWS.c.user_id, _USERS.c.nickname, _USERS.c.avatar_url, _ROWS.c.points)
    .join(_USERS, _USERS.c.id == _ROWS.c.user_id)
    .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
           _ROWS.c.points > 0, _USERS.c.deleted_at.is_(None))
    .order_by(_ROWS.c.period.desc(), _ROWS.c.period_start.desc(), _ROWS.c.points.desc(), _ROWS.c.user_id.desc())
    .limit(bindparam("p_limit", type_=Integer))
    # MariaDB would rather scan every user and sort: keep the join in the order written.
    .prefix_with("STRAIGHT_JOIN", dialect="mysql"))
_BUCKETS = PeriodPointsBucket.__table__
_IN_BANDS_ABOVE = (select(func.coalesce(func.sum(_BUCKETS.c.users), 0))
                   .where(_BUCKETS.c.period == bindparam("p_period"), _BUCKETS.c.period_start == bindparam("p_start"),
                          _BUCKETS.c.points_from > bindparam("p_floor", type_=_BUCKETS.c.points_from.type)))
_ABOVE_IN_MY_BAND = (select(func.count()).select_from(_ROWS)
                     .where(_ROWS.c.period == bindparam("p_period"), _ROWS.c.period_start == bindparam("p_start"),
                            _ROWS.c.points > bindparam("p_points", type_=_ROWS.c.points.type),
                            _ROWS.c.points < bindparam("p_band_end", type_=_ROWS.c.points.type)))
_AHEAD = reads.Read(select(_IN_BANDS_ABOVE.scalar_subquery() + _ABOVE_IN_MY_BAND.scalar_subquery()))
_TENTHS = type_coerce(_ROWS.c.points, BigInteger)
_BANDED = select(_ROWS.c.period, _ROWS.c.period_start, band_floor_sql(_TENTHS).label("points_from")).subquery()
_REBUILD = insert(_BUCKETS).from_select(
    ["period", "period_start", "points_from", "users"],
    select(_BANDED.c.period, _BANDED.c.period_start, _BANDED.c.points_from, func.count())
    .group_by(_BANDED.c.period, _BANDED.c.period_start, _BANDED.c.points_from))


def add_earning(user_id: int, points: Decimal, at: datetime, connection: Connection) -> None:
    """Move the user's week, month and year totals by an earning, and the histogram bands they leave
    and enter, in the caller's transaction (`connection`: the session's, which Core statements run on).

    The caller holds the user's account row locked (post_entry updates it first), so one user's
    earnings never interleave here. Usually one UPDATE moves all three rows and returns their new
    totals (MariaDB has no UPDATE … RETURNING: it reads them back). When a period has no row yet (its
    first earning), each missing one is inserted (ON CONFLICT DO NOTHING; on MariaDB inside a
    savepoint): should a concurrent transaction have inserted it first, an UPDATE adds to its row.
    """
    starts = period_starts(at)
    params = {"p_user": user_id, "p_points": points, **{f"p_{period}": start for period, start in starts.items()}}
    if connection.dialect.update_returning:
        totals = dict(_ADD_TO_ALL_RETURNING.rows(connection, params))
    else:
        moved = _ADD_TO_ALL.execute(connection, params)
        totals = dict(_TOTALS_OF_USER.rows(connection, params)) if moved else {}
    moves: list[tuple[str, date, Decimal | None, Decimal]] = []
    for period, start in starts.items():
        if period in totals:
            moves.append((period, start, totals[period] - points, totals[period]))
        else:
            before = _insert_total(connection, period, start, user_id, points)
            moves.append((period, start, before, points if before is None else before + points))
    _move_bands(moves, connection)


def _insert_total(connection: Connection, period: str, start: date, user_id: int, points: Decimal) -> Decimal | None:
    """The first earning of a period: a new row (returns None: there was no total before), or,
    should a concurrent transaction have inserted the row first, ours added to it (returns the
    total we found)."""
    one = {"p_period": period, "p_start": start, "p_user": user_id, "p_points": points}
    if connection.dialect.name in _INSERT_IF_NEW:  # a duplicate is skipped, no savepoint needed
        if _INSERT_IF_NEW[connection.dialect.name].rows(connection, one):
            return None
    else:  # MariaDB (INSERT IGNORE would hide other errors too): a savepoint takes a duplicate back
        try:
            with db.session.begin_nested():  # the SAVEPOINT goes out when the session's connection is asked for
                _INSERT.execute(db.session.connection(), one)
            return None
        except IntegrityError:
            pass
    if _ADD.execute(connection, one) != 1:
        raise RuntimeError(f"period_points row {one} neither inserted nor found")
    return _WRITE_POINTS_OF_USER.rows(connection, one)[0][0] - points


def points_in_period(user_id: int, period: str, moment: datetime | None = None) -> Decimal:
    start = period_starts(moment or clock.now())[period]
    points = db.session.scalar(_POINTS_OF_USER, {"p_period": period, "p_start": start, "p_user": user_id})
    return points if points is not None else ZERO


def forget_user(user_id: int) -> None:
    """Take a deleted account off every board and out of the histogram (call it in the deletion's
    transaction, with the account row locked): its rows would otherwise still count in other users'
    "my rank"."""
    rows = db.session.execute(select(PeriodPoints.period, PeriodPoints.period_start, PeriodPoints.points)
                              .where(PeriodPoints.user_id == user_id).with_for_update()).all()
    db.session.execute(delete(PeriodPoints).where(PeriodPoints.user_id == user_id)
                       .execution_options(synchronize_session=False))
    _move_bands([(period, start, points, None) for period, start, points in rows], db.session.connection())


def _move_bands(moves: list[tuple[str, date, Decimal | None, Decimal | None]], connection: Connection) -> None:
    """Apply (period, start, old total, new total) moves to the histogram: None is "no row". The
    rows change in one fixed key order, whoever the user: two transactions moving totals between the
    same two bands in opposite directions lock them in the same order and never deadlock."""
    deltas: dict[tuple[str, date, Decimal], int] = defaultdict(int)
    for period, start, old, new in moves:
        old_floor = band_of(old)[0] if old is not None else None
        new_floor = band_of(new)[0] if new is not None else None
        if old_floor == new_floor:
            continue
        if old_floor is not None:
            deltas[(period, start, old_floor)] -= 1
        if new_floor is not None:
            deltas[(period, start, new_floor)] += 1
    rows = [{"period": period, "period_start": start, "points_from": floor, "users": delta}
            for (period, start, floor), delta in sorted(deltas.items()) if delta]
    if rows:
        name = connection.dialect.name
        upsert = _UPSERT_WRITES.get(name) or _UPSERT_WRITES.setdefault(name, Write(_bucket_upsert(name)))
        upsert.executemany(connection, rows)


_UPSERTS: dict[str, object] = {}
_UPSERT_WRITES: dict[str, Write] = {}


def _bucket_upsert(dialect: str):
    """INSERT … ON CONFLICT / ON DUPLICATE KEY: add to the band's count, or start it."""
    if dialect not in _UPSERTS:
        if dialect in ("mysql", "mariadb"):
            statement = mysql.insert(_BUCKETS)
            statement = statement.on_duplicate_key_update(users=_BUCKETS.c.users + statement.inserted.users)
        else:
            statement = (postgresql if dialect == "postgresql" else sqlite).insert(_BUCKETS)
            statement = statement.on_conflict_do_update(
                index_elements=[_BUCKETS.c.period, _BUCKETS.c.period_start, _BUCKETS.c.points_from],
                set_={"users": _BUCKETS.c.users + statement.excluded.users})
        _UPSERTS[dialect] = statement
    return _UPSERTS[dialect]


def rebuild_histogram() -> None:
    """Recount every band from period_points (the totals are the truth); for bulk loads and repairs."""
    with write_transaction():
        db.session.execute(delete(PeriodPointsBucket).execution_options(synchronize_session=False))
        db.session.execute(_REBUILD)


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
    rank, previous = 0, None
    for position, (uid, nickname, avatar_url, points) in enumerate(rows, start=1):
        if points != previous:
            rank, previous = position, points
        entries.append(BoardEntry(rank, uid, nickname, avatar_url, points))
    return entries


def friends_board(user_id: int, period: str, start: date) -> Board:
    return ranked_friends(user_id, _FRIENDS_AND_ME.rows({"p_user": user_id, "p_period": period, "p_start": start}))


def ranked_friends(user_id: int, found: list[tuple]) -> Board:
    """The friends board of the rows friends_and_me read (the user's own among them)."""
    rows = sorted([(uid, nick, avatar, ZERO if points is None else points) for uid, nick, avatar, points in found],
                  key=lambda r: (r[3], r[0]), reverse=True)
    items = _ranked(rows)
    mine = next(e for e in items if e.user_id == user_id)
    return Board(items, mine.rank, mine.points)


def global_board(user_id: int, period: str, start: date, limit: int) -> Board:
    items = top(period, start, limit)
    mine = next((e for e in items if e.user_id == user_id), None)
    if mine is not None:
        return Board(items, mine.rank, mine.points)
    found = _READ_POINTS_OF_USER.first({"p_period": period, "p_start": start, "p_user": user_id})
    points = found[0] if found else ZERO
    return Board(items, rank_in_period(period, start, points), points)


def top(period: str, start: date, limit: int) -> list[BoardEntry]:
    """The `limit` highest totals of one period: one ordered range of the board index."""
    params = {"p_period": period, "p_start": start, "p_limit": limit}
    return _ranked(_TOP.rows(params))


def rank_in_period(period: str, start: date, points: Decimal) -> int:
    """1 + how many have more points: the users in the bands above mine (a sum over the histogram)
    plus those above me inside my own band (a COUNT over a short range of the board index)."""
    floor, width = band_of(points)
    (ahead,) = _AHEAD.first({"p_period": period, "p_start": start, "p_points": points,
                             "p_floor": floor, "p_band_end": floor + width})
    return 1 + int(ahead)
