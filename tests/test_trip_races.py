"""The same track sent by several people at once, over real connections: credited once. On PostgreSQL and
MariaDB the requests pass the duplicate check together and the trips table's unique digest decides."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import LedgerEntry, Record, Trip
from tests import tracks
from tests.races import live_login, race

SENDERS = 8


def test_one_track_sent_by_several_people_at_once_is_credited_once(live_server, app):
    senders = [live_login(live_server, app, f"copier{i}") for i in range(SENDERS)]
    track = tracks.realistic_track("bike", km=4.0, start=datetime.now(UTC) - timedelta(hours=2))
    body = {"mode": "bike", "track": track}
    answers = race(SENDERS, lambda i: requests.post(f"{live_server}/api/v1/trips", headers=senders[i], json=body,
                                                    timeout=60))
    outcomes = Counter((a.status_code, a.json().get("error", {}).get("code")) for a in answers)
    assert outcomes[(201, None)] == 1, outcomes
    assert set(outcomes) <= {(201, None), (409, "duplicate_record"), (422, "implausible_trip")}, outcomes
    credited = next(a.json() for a in answers if a.status_code == 201)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Trip)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 1
        entries = db.session.execute(sa.select(LedgerEntry.record_id, LedgerEntry.points)).all()
    assert [(record_id, float(points)) for record_id, points in entries] == [(credited["id"], credited["points"])]
