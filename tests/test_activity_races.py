"""Activity races against a live server over real connections: capacity holds, attendance is credited once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ActivitySignup, LedgerEntry, LedgerReason
from tests.api.test_activities import make_activity
from tests.races import live_login, race


def _counts(app, activity_id: int) -> tuple[int, int]:
    """(the activity's signed_up counter, its active sign-up rows): always equal."""
    with app.app_context():
        counter = db.session.get(Activity, activity_id).signed_up
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(ActivitySignup).where(
            ActivitySignup.activity_id == activity_id, ActivitySignup.cancelled_at.is_(None)))
        return counter, rows


def _signup(base: str, headers: dict, activity_id: int):
    return requests.post(f"{base}/api/v1/activities/{activity_id}/signups", headers=headers, timeout=60)


def test_ten_simultaneous_sign_ups_for_three_places_get_exactly_three(live_server, app):
    activity_id, _ = make_activity(app, capacity=3)
    users = [live_login(live_server, app, f"joiner{i}") for i in range(10)]
    responses = race(10, lambda i: _signup(live_server, users[i], activity_id))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 3, 409: 7}), [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"activity_full"}
    assert _counts(app, activity_id) == (3, 3)


def test_one_user_signing_up_ten_times_at_once_takes_one_place(live_server, app):
    activity_id, _ = make_activity(app, capacity=5)
    headers = live_login(live_server, app, "eager")
    responses = race(10, lambda _: _signup(live_server, headers, activity_id))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: 9}), [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"duplicate_record"}
    assert _counts(app, activity_id) == (1, 1)


def test_cancellations_racing_sign_ups_never_overfill(live_server, app):
    activity_id, _ = make_activity(app, capacity=3)
    holders = [live_login(live_server, app, f"holder{i}") for i in range(3)]
    for headers in holders:
        assert _signup(live_server, headers, activity_id).status_code == 201
    newcomers = [live_login(live_server, app, f"newcomer{i}") for i in range(6)]

    def act(i: int):
        if i < 3:
            return requests.delete(f"{live_server}/api/v1/activities/{activity_id}/signups",
                                   headers=holders[i], timeout=60)
        return _signup(live_server, newcomers[i - 3], activity_id)

    responses = race(9, act)
    assert all(r.status_code in (201, 204, 409) for r in responses), [r.text for r in responses]
    assert Counter(r.status_code for r in responses[:3]) == Counter({204: 3})
    counter, rows = _counts(app, activity_id)
    assert counter == rows <= 3
    assert rows == sum(r.status_code == 201 for r in responses)


def test_ten_simultaneous_check_ins_credit_the_points_once(live_server, app):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30), points="20.0")
    headers = live_login(live_server, app, "attendee")
    assert _signup(live_server, headers, activity_id).status_code == 201
    responses = race(10, lambda _: requests.post(f"{live_server}/api/v1/activities/{activity_id}/checkin",
                                                 headers=headers, json={"code": code}, timeout=60))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: 9}), [r.text for r in responses]
    with app.app_context():
        entries = db.session.execute(sa.select(LedgerEntry.points).where(
            LedgerEntry.reason == LedgerReason.ACTIVITY_ATTENDANCE)).scalars().all()
    assert [str(p) for p in entries] == ["20.0"]
