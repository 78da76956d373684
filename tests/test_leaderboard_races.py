"""Earnings racing over real connections: every "my rank" read from the histogram still equals a
recount, and totals crossing the same bands in opposite directions never deadlock."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import LedgerReason
from app.services import clock, leaderboard, ledger, users
from tests.races import race
from tests.services.test_leaderboard import recounted_histogram, recounted_rank, stored_histogram


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


def _users(app, prefix: str, count: int) -> list[int]:
    ids = [users.login(f"dev:{prefix}{i}", app.config["PRIVACY_POLICY_VERSION"]).user.id for i in range(count)]
    db.session.commit()
    return ids


def _earn(app, user_id: int, points: str, reason: str = LedgerReason.RECORD_CREDIT) -> None:
    with app.app_context():
        ledger.post_entry(user_id, Decimal(points), reason)
        db.session.remove()


def test_every_rank_equals_a_recount_after_concurrent_earnings(ctx, app):
    people = _users(app, "crowd", 12)
    rng = random.Random(4)
    # Amounts that cross bands (exact below 100, one point wide above) and land on ties.
    amounts = [rng.choice(["0.1", "0.5", "1.0", "9.9", "40.0", "60.5", "99.9", "100.0", "250.0"]) for _ in range(96)]
    race(24, lambda i: [_earn(app, people[(i * 4 + k) % len(people)], amounts[i * 4 + k]) for k in range(4)])
    db.session.rollback()
    assert stored_histogram() == recounted_histogram()
    now = clock.now()
    for period, start in leaderboard.period_starts(now).items():
        for uid in people:
            board = leaderboard.board(uid, "all", period, now=now)
            assert board.my_rank == recounted_rank(period, start, board.my_points), (period, uid)
    assert sum(leaderboard.points_in_period(uid, "year") for uid in people) == sum(Decimal(a) for a in amounts)


def test_totals_crossing_the_same_bands_in_opposite_directions_never_deadlock(ctx, app):
    climbers, fallers = _users(app, "up", 10), _users(app, "down", 10)
    for uid in climbers:
        ledger.post_entry(uid, Decimal("100.5"), LedgerReason.RECORD_CREDIT)  # band 100
    for uid in fallers:
        ledger.post_entry(uid, Decimal("101.5"), LedgerReason.RECORD_CREDIT)  # band 101

    def move(i):
        # climbers go from band 100 to 101 while fallers (a reversal) go from 101 to 100
        if i % 2:
            _earn(app, climbers[i // 2], "1.0")
        else:
            _earn(app, fallers[i // 2], "-1.0", LedgerReason.RECORD_REVERSAL)

    race(20, move)  # a deadlock would surface here as an error from one of the racers
    db.session.rollback()
    assert {leaderboard.points_in_period(uid, "year") for uid in climbers} == {Decimal("101.5")}
    assert {leaderboard.points_in_period(uid, "year") for uid in fallers} == {Decimal("100.5")}
    assert stored_histogram() == recounted_histogram()
    start = leaderboard.period_starts(clock.now())["year"]
    assert leaderboard.rank_in_period("year", start, Decimal("100.5")) == \
        recounted_rank("year", start, Decimal("100.5"))
