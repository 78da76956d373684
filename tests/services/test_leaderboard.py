"""Period totals: which week, month and year an earning belongs to in Shanghai, that they always equal
the ledger's earnings, and the rankings read from them."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Friendship, LedgerEntry, LedgerReason, PeriodPoints, User
from app.models.social import PeriodPointsBucket
from app.services import clock, leaderboard, ledger, users
from tests.races import race

CREDIT = LedgerReason.RECORD_CREDIT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def user(ctx, app):
    def _user(name: str, nickname: str | None = None) -> int:
        created = users.login(f"dev:{name}", app.config["PRIVACY_POLICY_VERSION"]).user
        user_id = created.id
        if nickname:
            created.nickname = nickname
        db.session.commit()
        return user_id

    return _user


def earn(user_id: int, points: str, when: str, reason: str = CREDIT) -> None:
    ledger.post_entry(user_id, Decimal(points), reason, at=at(when))


def totals(user_id: int) -> dict[tuple[str, date], Decimal]:
    rows = db.session.execute(sa.select(PeriodPoints.period, PeriodPoints.period_start, PeriodPoints.points)
                              .where(PeriodPoints.user_id == user_id)).all()
    return {(period, start): points for period, start, points in rows}


def test_an_earning_at_half_past_midnight_on_new_year_in_shanghai_counts_for_the_new_year(user):
    ann = user("ann")
    earn(ann, "5.0", "2026-12-31T15:59:59Z")  # 23:59:59 on 31 December in Shanghai
    earn(ann, "2.0", "2026-12-31T16:30:00Z")  # 00:30 on 1 January 2027 in Shanghai
    assert totals(ann) == {
        ("year", date(2026, 1, 1)): Decimal("5.0"), ("year", date(2027, 1, 1)): Decimal("2.0"),
        ("month", date(2026, 12, 1)): Decimal("5.0"), ("month", date(2027, 1, 1)): Decimal("2.0"),
        # 2027-01-01 is a Friday: both fall in the ISO week that began on Monday 28 December.
        ("week", date(2026, 12, 28)): Decimal("7.0"),
    }


def test_weeks_start_on_monday_and_months_on_the_first_in_shanghai(user):
    ann = user("ann")
    earn(ann, "1.0", "2026-11-29T15:59:59Z")  # Sunday 29 Nov 23:59:59 local
    earn(ann, "2.0", "2026-11-29T16:00:00Z")  # Monday 30 Nov 00:00 local: a new week
    earn(ann, "4.0", "2026-11-30T16:00:00Z")  # Tuesday 1 Dec 00:00 local: a new month, same week
    assert totals(ann) == {
        ("week", date(2026, 11, 23)): Decimal("1.0"), ("week", date(2026, 11, 30)): Decimal("6.0"),
        ("month", date(2026, 11, 1)): Decimal("3.0"), ("month", date(2026, 12, 1)): Decimal("4.0"),
        ("year", date(2026, 1, 1)): Decimal("7.0"),
    }


def test_boards_read_the_period_holding_now(user):
    ann, ben = user("ann"), user("ben")
    earn(ann, "5.0", "2026-12-31T15:00:00Z")   # 31 Dec local
    earn(ben, "3.0", "2026-12-31T16:30:00Z")   # 1 Jan local
    now = at("2027-01-01T02:00:00Z")           # 10:00 on 1 Jan local
    year = leaderboard.board(ann, "all", "year", now=now)
    assert [(e.user_id, e.points) for e in year.items] == [(ben, Decimal("3.0"))]
    assert (year.my_rank, year.my_points) == (2, Decimal("0.0"))
    week = leaderboard.board(ann, "all", "week", now=now)
    assert [(e.rank, e.user_id) for e in week.items] == [(1, ann), (2, ben)]
    last_year = leaderboard.board(ann, "all", "year", now=at("2026-12-31T15:59:00Z"))
    assert [(e.user_id, e.points) for e in last_year.items] == [(ann, Decimal("5.0"))]


def test_period_totals_always_equal_the_ledgers_earnings(user, app):
    ann, ben = user("ann"), user("ben")
    moments = ["2026-01-04T10:00:00Z", "2026-01-04T16:10:00Z", "2026-02-28T16:00:00Z", "2026-12-31T16:30:00Z",
               "2027-03-01T00:00:00Z"]
    for i, when in enumerate(moments):
        earn(ann, f"{i + 1}.5", when)
        earn(ben, "0.1", when, LedgerReason.ACTIVITY_ATTENDANCE)
    ledger.post_entry(ann, Decimal("-4.0"), LedgerReason.REDEMPTION, at=at("2026-12-31T16:40:00Z"))
    ledger.post_entry(ann, Decimal("4.0"), LedgerReason.REDEMPTION_CANCEL, at=at("2026-12-31T16:50:00Z"))
    ledger.post_entry(ben, Decimal("9.0"), "test_credit", at=at("2026-12-31T16:50:00Z"))

    expected: dict[tuple[str, date, int], Decimal] = defaultdict(Decimal)
    for entry in db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.reason.in_(LedgerReason.EARNINGS))):
        for period, start in leaderboard.period_starts(entry.created_at).items():
            expected[(period, start, entry.user_id)] += entry.points
    stored = {(p.period, p.period_start, p.user_id): p.points for p in db.session.scalars(sa.select(PeriodPoints))}
    assert stored == expected
    # the refund and the unrelated credit moved the balance, not the earnings
    assert leaderboard.points_in_period(ann, "year", at("2027-01-02T00:00:00Z")) == Decimal("10.0")  # 4.5 + 5.5


def test_ties_share_a_rank_and_the_next_rank_skips(user):
    ids = [user(name) for name in ("ann", "ben", "cat", "dan")]
    now = clock.now()
    for uid, points in zip(ids, ("8.0", "8.0", "5.0", "5.0"), strict=True):
        ledger.post_entry(uid, Decimal(points), CREDIT, at=now)
    board = leaderboard.board(ids[3], "all", "week", now=now)
    assert [e.rank for e in board.items] == [1, 1, 3, 3]
    assert (board.my_rank, board.my_points) == (3, Decimal("5.0"))


def test_my_rank_beyond_the_top_n_counts_who_has_more(user):
    ids = [user(f"u{i}") for i in range(6)]
    now = clock.now()
    for uid, points in zip(ids, ("9.0", "7.0", "7.0", "6.0", "6.0", "1.0"), strict=True):
        ledger.post_entry(uid, Decimal(points), CREDIT, at=now)
    board = leaderboard.board(ids[4], "all", "month", limit=2, now=now)
    assert [e.user_id for e in board.items] == [ids[0], ids[2]]  # equal points: the newer account first
    assert [e.rank for e in board.items] == [1, 2]
    assert (board.my_rank, board.my_points) == (4, Decimal("6.0"))
    nobody = user("idle")
    assert leaderboard.board(nobody, "all", "month", limit=2, now=now).my_rank == 7


def test_the_friends_board_has_every_friend_and_me_even_at_zero(user):
    ann, ben, cat, stranger = user("ann"), user("ben"), user("cat"), user("stranger")
    for a, b in ((ann, ben), (ann, cat)):
        db.session.add_all([Friendship(user_id=a, friend_id=b), Friendship(user_id=b, friend_id=a)])
    db.session.commit()
    now = clock.now()
    ledger.post_entry(ben, Decimal("3.0"), CREDIT, at=now)
    ledger.post_entry(stranger, Decimal("30.0"), CREDIT, at=now)
    board = leaderboard.board(ann, "friends", "year", now=now)
    assert [(e.rank, e.user_id, e.points) for e in board.items][0] == (1, ben, Decimal("3.0"))
    assert {e.user_id for e in board.items} == {ann, ben, cat}
    assert [e.rank for e in board.items] == [1, 2, 2]
    assert (board.my_rank, board.my_points) == (2, Decimal("0.0"))
    # ben's board is ben and ann: cat is ann's friend, not his
    assert {e.user_id for e in leaderboard.board(ben, "friends", "year", now=now).items} == {ann, ben}


def test_deleted_accounts_leave_the_boards(user):
    ann, ben = user("ann"), user("ben")
    db.session.add_all([Friendship(user_id=ann, friend_id=ben), Friendship(user_id=ben, friend_id=ann)])
    db.session.commit()
    now = clock.now()
    ledger.post_entry(ann, Decimal("1.0"), CREDIT, at=now)
    ledger.post_entry(ben, Decimal("9.0"), CREDIT, at=now)
    db.session.get(User, ben).deleted_at = now
    leaderboard.forget_user(ben)
    db.session.commit()
    for scope in ("friends", "all"):
        board = leaderboard.board(ann, scope, "year", now=now)
        assert [e.user_id for e in board.items] == [ann] and board.my_rank == 1


def test_concurrent_first_earnings_of_a_period_add_up(user, app):
    ann = user("racer")
    others = [user(f"racer{i}") for i in range(8)]
    when = at("2027-06-01T04:00:00Z")  # periods that have no rows yet

    def credit(i):
        with app.app_context():
            ledger.post_entry(ann if i % 2 else others[i // 2 % len(others)], Decimal("1.5"), CREDIT, at=when)

    race(16, credit)
    db.session.rollback()  # end this session's read snapshot: the racers committed after it began
    assert totals(ann) == {("week", date(2027, 5, 31)): Decimal("12.0"), ("month", date(2027, 6, 1)): Decimal("12.0"),
                           ("year", date(2027, 1, 1)): Decimal("12.0")}
    assert sum(p for p in db.session.scalars(sa.select(PeriodPoints.points).where(
        PeriodPoints.period == "year", PeriodPoints.user_id != ann))) == Decimal("12.0")


class _InsertedFirstBy:
    """A Write whose statement runs just after `other` (on the same connection)."""

    def __init__(self, write, other):
        self.write, self.other = write, other

    def rows(self, connection, params):
        self.other(connection)
        return self.write.rows(connection, params)


def test_the_upsert_survives_a_row_inserted_by_a_concurrent_transaction(user, monkeypatch):
    """What a concurrent first insert looks like from inside: the week row was not there when we
    looked, and our INSERT collides with the one another transaction committed meanwhile."""
    ann = user("ann")
    earn(ann, "1.0", "2027-06-01T04:00:00Z")
    inserted_first = []

    def other_transaction_inserts_first(conn):
        if not inserted_first:
            inserted_first.append(True)
            conn.execute(sa.insert(PeriodPoints).values(
                period="week", period_start=date(2027, 6, 7), user_id=ann, points=Decimal("4.0")))
            conn.execute(leaderboard._bucket_upsert(conn.dialect.name), [  # and counted it in its band
                {"period": "week", "period_start": date(2027, 6, 7), "points_from": Decimal("4.0"), "users": 1}])

    def before_the_savepoint(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SAVEPOINT"):  # MariaDB: our INSERT goes in a savepoint of its own
            other_transaction_inserts_first(conn)

    # SQLite and PostgreSQL: just before our INSERT … ON CONFLICT DO NOTHING.
    for name, write in leaderboard._INSERT_IF_NEW.items():
        monkeypatch.setitem(leaderboard._INSERT_IF_NEW, name, _InsertedFirstBy(write, other_transaction_inserts_first))
    sa.event.listen(db.engine, "before_cursor_execute", before_the_savepoint)
    try:
        # Only the week row is new: the one-statement UPDATE falls through to the per-period path.
        ledger.post_entry(ann, Decimal("2.0"), CREDIT, at=at("2027-06-07T04:00:00Z"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before_the_savepoint)
    assert inserted_first
    assert totals(ann) == {("week", date(2027, 5, 31)): Decimal("1.0"), ("week", date(2027, 6, 7)): Decimal("6.0"),
                           ("month", date(2027, 6, 1)): Decimal("3.0"), ("year", date(2027, 1, 1)): Decimal("3.0")}
    assert stored_histogram() == recounted_histogram()  # our earning moved that row from 4.0 to 6.0


def recounted_histogram() -> dict[tuple[str, date, Decimal], int]:
    """The histogram as it must be: every period total counted in its band."""
    counts: dict[tuple[str, date, Decimal], int] = defaultdict(int)
    for period, start, points in db.session.execute(
            sa.select(PeriodPoints.period, PeriodPoints.period_start, PeriodPoints.points)):
        counts[(period, start, leaderboard.band_of(points)[0])] += 1
    return dict(counts)


def stored_histogram() -> dict[tuple[str, date, Decimal], int]:
    rows = db.session.execute(sa.select(PeriodPointsBucket.period, PeriodPointsBucket.period_start,
                                        PeriodPointsBucket.points_from, PeriodPointsBucket.users))
    return {(period, start, floor): users for period, start, floor, users in rows if users}


def recounted_rank(period: str, start: date, points: Decimal) -> int:
    return 1 + db.session.scalar(sa.select(sa.func.count()).select_from(PeriodPoints).where(
        PeriodPoints.period == period, PeriodPoints.period_start == start, PeriodPoints.points > points))


@pytest.mark.parametrize(("points", "band"), [
    ("0.0", ("0.0", "0.1")), ("99.9", ("99.9", "0.1")), ("100.0", ("100.0", "1.0")), ("100.9", ("100.0", "1.0")),
    ("999.9", ("999.0", "1.0")), ("1000.0", ("1000.0", "10.0")), ("12345.6", ("12300.0", "100.0")),
    ("123456.7", ("123000.0", "1000.0")), ("-3.5", ("-3.5", "0.1"))])
def test_bands_are_exact_below_100_points_then_three_significant_figures(points, band):
    assert leaderboard.band_of(Decimal(points)) == tuple(Decimal(b) for b in band)


def test_my_rank_counts_everyone_ahead_in_the_bands_above_and_inside_mine(user):
    totals = ["99.9", "100.0", "100.0", "100.5", "100.9", "101.0", "150.3", "999.9", "1000.0", "1005.0",
              "1009.9", "12345.6", "0.1"]
    ids = [user(f"u{i}") for i in range(len(totals))]
    now = clock.now()
    for uid, points in zip(ids, totals, strict=True):
        ledger.post_entry(uid, Decimal(points), CREDIT, at=now)
    start = leaderboard.period_starts(now)["year"]
    for points in [*totals, "0.0", "100.2", "100.9", "1004.9", "1010.0", "20000.0"]:
        expected = 1 + sum(Decimal(t) > Decimal(points) for t in totals)
        assert leaderboard.rank_in_period("year", start, Decimal(points)) == expected, points
    board = leaderboard.board(ids[4], "all", "year", limit=3, now=now)  # 100.9: behind 7 people
    assert (board.my_rank, board.my_points) == (8, Decimal("100.9"))
    assert stored_histogram() == recounted_histogram()


def test_the_histogram_follows_every_earning_reversal_and_deletion(user):
    ann, ben, cat = user("ann"), user("ben"), user("cat")
    for uid, points, when in ((ann, "60.0", "2026-11-29T15:00:00Z"), (ann, "45.5", "2026-11-29T16:30:00Z"),
                              (ben, "99.9", "2026-11-30T01:00:00Z"), (ben, "0.1", "2026-11-30T02:00:00Z"),
                              (cat, "1000.0", "2026-11-30T03:00:00Z"), (cat, "7.0", "2026-11-30T04:00:00Z")):
        earn(uid, points, when)
    assert stored_histogram() == recounted_histogram()
    # A reversal takes ann's Sunday credit back out of the week it was earned in: below 100 again.
    ledger.post_entry(ann, Decimal("-60.0"), LedgerReason.RECORD_REVERSAL, at=at("2026-12-02T00:00:00Z"),
                      earned_at=at("2026-11-29T15:00:00Z"))
    assert stored_histogram() == recounted_histogram()
    year = date(2026, 1, 1)
    assert leaderboard.rank_in_period("year", year, Decimal("45.5")) == 3  # cat 1007.0, ben 100.0
    db.session.get(User, cat).deleted_at = clock.now()
    leaderboard.forget_user(cat)
    db.session.commit()
    assert stored_histogram() == recounted_histogram()
    assert leaderboard.rank_in_period("year", year, Decimal("45.5")) == 2
    assert leaderboard.board(ann, "all", "year", now=at("2026-12-02T00:00:00Z")).my_rank == 2


def test_rank_is_counted_in_the_period_of_shanghai_time_across_new_year(user):
    ann, ben, cat = user("ann"), user("ben"), user("cat")
    earn(ann, "150.0", "2026-12-31T15:59:59Z")  # 23:59:59 on 31 December in Shanghai
    earn(ben, "120.0", "2026-12-31T16:00:00Z")  # midnight: 2027 already
    earn(cat, "130.0", "2026-12-31T16:00:01Z")
    earn(ann, "5.0", "2027-01-04T16:00:00Z")    # Tuesday 5 January: the week of Monday 4 January
    now = at("2027-01-05T02:00:00Z")
    assert leaderboard.board(ben, "all", "year", now=now).my_rank == 2          # cat 130, ben 120, ann 5
    assert leaderboard.board(ann, "all", "year", now=now).my_rank == 3
    assert leaderboard.board(ann, "all", "week", now=now).my_rank == 1          # only ann earned this week
    last_year = at("2026-12-31T15:00:00Z")
    assert leaderboard.board(ben, "all", "year", now=last_year).my_rank == 2    # ben had nothing in 2026
    assert leaderboard.board(ann, "all", "year", now=last_year).my_rank == 1
    for period, start in (("week", date(2026, 12, 28)), ("month", date(2027, 1, 1)), ("year", date(2027, 1, 1))):
        for points in ("150.0", "130.0", "125.0", "120.0", "5.0", "0.0"):
            assert leaderboard.rank_in_period(period, start, Decimal(points)) == \
                recounted_rank(period, start, Decimal(points)), (period, points)
    assert stored_histogram() == recounted_histogram()
