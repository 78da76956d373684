"""Migration 0008 fills the leaderboards' histogram from the period totals an existing deployment has."""

from __future__ import annotations

from decimal import Decimal

import flask_migrate

from app.extensions import db
from app.models import LedgerReason
from app.models.social import PeriodPointsBucket
from app.services import clock, leaderboard, ledger, users
from tests.services.test_leaderboard import recounted_histogram, recounted_rank, stored_histogram


def test_upgrading_to_0008_counts_every_existing_total_in_its_band(app):
    with app.app_context():
        people = [users.login(f"dev:backfill{i}", app.config["PRIVACY_POLICY_VERSION"]).user.id for i in range(5)]
        db.session.commit()
        for uid, points in zip(people, ("0.5", "99.9", "100.0", "100.7", "12345.6"), strict=True):
            ledger.post_entry(uid, Decimal(points), LedgerReason.RECORD_CREDIT)
        db.session.remove()
        flask_migrate.downgrade(revision="0007")  # a deployment from before the histogram …
        flask_migrate.upgrade()                   # … upgrading
        assert stored_histogram() == recounted_histogram()
        start = leaderboard.period_starts(clock.now())["year"]
        for points in ("0.5", "100.0", "100.5"):
            assert leaderboard.rank_in_period("year", start, Decimal(points)) == \
                recounted_rank("year", start, Decimal(points))


def test_rebuilding_the_histogram_recounts_it_from_the_totals(app):
    with app.app_context():
        uid = users.login("dev:rebuilt", app.config["PRIVACY_POLICY_VERSION"]).user.id
        db.session.commit()
        ledger.post_entry(uid, Decimal("1234.5"), LedgerReason.RECORD_CREDIT)
        db.session.execute(PeriodPointsBucket.__table__.update().values(users=PeriodPointsBucket.users + 7))
        db.session.commit()
        assert stored_histogram() != recounted_histogram()
        leaderboard.rebuild_histogram()
        assert stored_histogram() == recounted_histogram()
