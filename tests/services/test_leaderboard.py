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


def test_the_upsert_survives_a_row_inserted_by_a_concurrent_transaction(user, monkeypatch):
    """What a concurrent first insert looks like from inside: the week row was not there when we
    looked, and our INSERT collides with the one another transaction committed meanwhile."""
    ann = user("ann")
    earn(ann, "1.0", "2027-06-01T04:00:00Z")
    real_begin_nested = db.session.begin_nested

    def other_transaction_inserts_first():
        db.session.execute(sa.insert(PeriodPoints).values(
            period="week", period_start=date(2027, 6, 7), user_id=ann, points=Decimal("4.0")))
        return real_begin_nested()

    monkeypatch.setattr(db.session, "begin_nested", other_transaction_inserts_first)
    # Only the week row is new: the one-statement UPDATE falls through to the per-period path.
    ledger.post_entry(ann, Decimal("2.0"), CREDIT, at=at("2027-06-07T04:00:00Z"))
    monkeypatch.undo()
    assert totals(ann) == {("week", date(2027, 5, 31)): Decimal("1.0"), ("week", date(2027, 6, 7)): Decimal("6.0"),
                           ("month", date(2027, 6, 1)): Decimal("3.0"), ("year", date(2027, 1, 1)): Decimal("3.0")}
