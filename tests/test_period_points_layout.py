"""Migrations 0010 and 0011 rebuild period_points: SQLite keeps its rows in the primary key's b-tree
(WITHOUT ROWID), and every database keys it by user first. Every total survives, and the boards answer
the same before and after."""

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


def _key_and_indexes() -> tuple[list[str], set[str]]:
    db.session.remove()
    inspector = sa.inspect(db.engine)
    # MariaDB lists the foreign key's own index too, under the key's name.
    indexes = {ix["name"] for ix in inspector.get_indexes("period_points")} - {"fk_period_points_user_id_users"}
    return inspector.get_pk_constraint("period_points")["constrained_columns"], indexes


def test_upgrading_from_0009_keeps_every_total_and_the_boards(app, client, login):
    riders = [login(name) for name in ("ann", "ben", "cai")]
    for k, headers in enumerate(riders):
        ride = tracks.realistic_track("bike", km=2.0 + k, seed=20 + k, start=datetime.now(UTC) - timedelta(hours=5 + k))
        assert post_trip(client, headers, ride, mode="bike").status_code == 201
    before = _boards(client, riders[0])
    assert [entry["points"] for entry in before[2]["items"]] != []
    with app.app_context():
        totals = sorted(db.session.execute(sa.select(PeriodPoints.__table__)).all())
        db.session.remove()
        flask_migrate.downgrade(revision="0009")  # a deployment from before both rebuilds …
        assert _key_and_indexes() == (["period", "period_start", "user_id"],
                                      {"ix_period_points_board", "ix_period_points_user"})
        flask_migrate.upgrade()                   # … upgrading
        assert sorted(db.session.execute(sa.select(PeriodPoints.__table__)).all()) == totals
        assert _key_and_indexes() == (["user_id", "period", "period_start"], {"ix_period_points_board"})
        if db.engine.dialect.name == "sqlite":
            sql = db.session.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'period_points'"))
            assert "WITHOUT ROWID" in sql
        db.session.remove()
    assert _boards(client, riders[0]) == before
