"""A trip both the user's GPS and an operator reported is credited once: the operator's, verified."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import LedgerEntry, PeriodPoints, Record
from app.services import leaderboard
from tests import tracks
from tests.partner.conftest import ago, bike_event


def post_trip(base: str, headers: dict, track: list, mode: str = "bike") -> requests.Response:
    return requests.post(f"{base}/api/v1/trips", headers=headers, json={"mode": mode, "track": track}, timeout=30)


def track_times(track: list) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(track[0]["t"]), datetime.fromisoformat(track[-1]["t"])


def me(base: str, headers: dict) -> dict:
    return requests.get(f"{base}/api/v1/me", headers=headers, timeout=10).json()["account"]


def test_a_partner_trip_replaces_the_gps_trip_it_repeats(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    track = tracks.realistic_track("bike", km=5.0, start=ago(hours=3))
    gps = post_trip(live_server, headers, track)
    assert gps.status_code == 201, gps.text
    started, ended = track_times(track)
    event = bike_event(binding, km="5.1", start=started + timedelta(minutes=1),
                       minutes=int((ended - started).total_seconds() // 60))
    verified = client.send_event(event)
    assert verified.status_code == 201, verified.text
    assert verified.json()["replaced_user_record"] is True
    verified_points = Decimal(str(verified.json()["record"]["points"]))
    account = me(live_server, headers)
    assert Decimal(str(account["balance_points"])) == verified_points
    assert Decimal(str(account["co2_g_total"])) == Decimal("244.8")  # 5.1 km × 48 g, the GPS grams taken back
    records = requests.get(f"{live_server}/api/v1/records", headers=headers, timeout=10).json()["items"]
    by_id = {r["id"]: r for r in records}
    assert by_id[gps.json()["id"]]["status"] == "rejected"
    assert by_id[verified.json()["record"]["id"]]["status"] == "credited"
    reasons = [(e["reason"], e["record_id"]) for e in
               requests.get(f"{live_server}/api/v1/ledger", headers=headers, timeout=10).json()["items"]]
    assert ("record_reversal", gps.json()["id"]) in reasons and len(reasons) == 3
    assert Decimal(str(account["earned_points_year"])) == verified_points  # the leaderboard counts it once


def test_a_gps_trip_repeating_a_partner_trip_is_refused(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    track = tracks.realistic_track("bike", km=5.0, start=ago(hours=3))
    started, ended = track_times(track)
    verified = client.send_event(bike_event(binding, km="5.0", start=started,
                                            minutes=int((ended - started).total_seconds() // 60)))
    assert verified.status_code == 201, verified.text
    gps = post_trip(live_server, headers, track)
    assert gps.status_code == 422, gps.text
    error = gps.json()["error"]
    assert error["code"] == "implausible_trip" and error["details"]["reason"] == "verified_trip_exists"
    assert Decimal(str(me(live_server, headers)["balance_points"])) == Decimal("24.0")


def test_a_hand_off_overlap_of_a_minute_leaves_both_trips_credited(live_server, partner, bound_user):
    """Cycling to the metro: the GPS stops a minute after the operator's tap-in. Two journeys."""
    _, client = partner
    headers, binding = bound_user()
    track = tracks.realistic_track("bike", km=3.0, start=ago(hours=4))
    assert post_trip(live_server, headers, track).status_code == 201
    _, ended = track_times(track)
    metro = client.send_event(bike_event(binding, km="12", start=ended - timedelta(minutes=1), minutes=25,
                                         mode="subway"))
    assert metro.status_code == 201 and "replaced_user_record" not in metro.json()
    records = requests.get(f"{live_server}/api/v1/records", headers=headers, timeout=10).json()["items"]
    assert [r["status"] for r in records] == ["credited", "credited"]


def test_a_gps_trip_credited_last_week_is_taken_back_from_last_weeks_board(app, live_server, partner, bound_user):
    """The partner's report arrives after the week turned: this week's board shows the verified trip's
    points, not those minus the GPS trip's, and last week's loses the GPS trip."""
    _, client = partner
    headers, binding = bound_user()
    track = tracks.realistic_track("bike", km=5.0, start=ago(hours=3))
    gps = post_trip(live_server, headers, track)
    assert gps.status_code == 201, gps.text
    gps_points = Decimal(str(gps.json()["points"]))
    # As if the GPS trip had been sent and credited eight days ago: its record, its credit and the
    # week it counted for all move back (what a trip sent on Sunday night looks like on Monday).
    with app.app_context():
        record = db.session.get(Record, gps.json()["id"])
        then = record.created_at - timedelta(days=8)
        this_week, last_week = (leaderboard.period_starts(moment)["week"] for moment in (record.created_at, then))
        record.created_at = then
        db.session.execute(sa.update(LedgerEntry).where(LedgerEntry.record_id == record.id).values(created_at=then))
        db.session.execute(sa.update(PeriodPoints).where(
            PeriodPoints.user_id == record.user_id, PeriodPoints.period == "week",
            PeriodPoints.period_start == this_week).values(period_start=last_week))
        db.session.commit()
        user_id = record.user_id
    started, ended = track_times(track)
    verified = client.send_event(bike_event(binding, km="5.1", start=started + timedelta(minutes=1),
                                            minutes=int((ended - started).total_seconds() // 60)))
    assert verified.status_code == 201, verified.text
    verified_points = Decimal(str(verified.json()["record"]["points"]))

    board = requests.get(f"{live_server}/api/v1/leaderboard?period=week", headers=headers, timeout=10).json()
    assert Decimal(str(board["me"]["points"])) == verified_points
    with app.app_context():
        weeks = dict(db.session.execute(sa.select(PeriodPoints.period_start, PeriodPoints.points).where(
            PeriodPoints.user_id == user_id, PeriodPoints.period == "week")).all())
    assert weeks == {last_week: Decimal("0.0"), this_week: verified_points} and gps_points > 0
