"""Migration 0009 stores the duration of every kept trip's shape, so the replay check, which now looks
trips up by start cell and duration, still finds copies of trips recorded before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import flask_migrate
import sqlalchemy as sa

from app.extensions import db
from app.models import Trip
from app.services import track_analysis
from tests import tracks
from tests.api.test_trips import post_trip, refusal_reason


def test_upgrading_to_0009_fills_every_kept_shapes_duration_and_replays_are_still_refused(app, client, login):
    ann, ben = login("ann"), login("ben")
    rides = [tracks.realistic_track(mode, km=km, seed=seed, start=datetime.now(UTC) - timedelta(hours=30 - seed))
             for mode, km, seed in (("bike", 3.0, 1), ("bus", 6.0, 2), ("bike", 2.0, 3))]
    for ride, mode in zip(rides, ("bike", "bus", "bike"), strict=True):
        assert post_trip(client, ann, ride, mode=mode).status_code == 201
    with app.app_context():
        purged = db.session.scalars(sa.select(Trip).order_by(Trip.record_id)).first()
        purged.track, purged.shape = None, None  # a trip past TRACK_RETENTION_DAYS keeps no shape
        db.session.commit()
        expected = {trip.record_id: track_analysis.shape_span_ds(trip.shape) if trip.shape else None
                    for trip in db.session.scalars(sa.select(Trip))}
        assert sum(span is not None for span in expected.values()) == 2
        db.session.remove()
        flask_migrate.downgrade(revision="0008")  # a deployment from before the column …
        flask_migrate.upgrade()                   # … upgrading
        stored = dict(db.session.execute(sa.select(Trip.record_id, Trip.shape_span_ds)).all())
        db.session.remove()
    assert stored == expected
    # A copy of a trip kept before the upgrade, shifted a day and jittered, is still found.
    copy = tracks.jittered(tracks.shifted(rides[1], hours=24), 5)
    assert refusal_reason(post_trip(client, ben, copy, mode="bus")) == "duplicate_track"
