"""Migration 0010 moves SQLite's period_points into its primary key's b-tree (WITHOUT ROWID): every
total survives the rebuild, and the boards answer the same before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import flask_migrate
import sqlalchemy as sa

from app.extensions import db
from app.models import PeriodPoints
from tests import tracks
from tests.api.test_trips import post_trip


def _boards(client, headers) -> list:
    return [client.get(f"/api/v1/leaderboard?scope=all&period={period}", headers=headers).get_json()
            for period in ("week", "month", "year")]


def test_upgrading_to_0010_keeps_every_total_and_the_boards(app, client, login):
    riders = [login(name) for name in ("ann", "ben", "cai")]
    for k, headers in enumerate(riders):
        ride = tracks.realistic_track("bike", km=2.0 + k, seed=20 + k, start=datetime.now(UTC) - timedelta(hours=5 + k))
        assert post_trip(client, headers, ride, mode="bike").status_code == 201
    before = _boards(client, riders[0])
    assert [entry["points"] for entry in before[2]["items"]] != []
    with app.app_context():
        totals = sorted(db.session.execute(sa.select(PeriodPoints.__table__)).all())
        db.session.remove()
        flask_migrate.downgrade(revision="0009")  # a deployment from before the rebuild …
        flask_migrate.upgrade()                   # … upgrading
        assert sorted(db.session.execute(sa.select(PeriodPoints.__table__)).all()) == totals
        if db.engine.dialect.name == "sqlite":
            sql = db.session.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'period_points'"))
            assert "WITHOUT ROWID" in sql
            indexes = set(db.session.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'period_points'")))
            assert {"ix_period_points_board", "ix_period_points_user"} <= indexes
        db.session.remove()
    assert _boards(client, riders[0]) == before
