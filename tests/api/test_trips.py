"""绿色出行 through the API: measured on the server, credited at once, cheats refused with a reason."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Trip, TripRefusal
from tests import tracks


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def post_trip(client, headers, track, mode="bike", **extra_headers):
    return client.post("/api/v1/trips", headers={**headers, **extra_headers}, json={"mode": mode, "track": track})


def refusal_reason(response) -> str:
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "implausible_trip"
    return error["details"]["reason"]


def test_a_realistic_5_km_bike_ride_earns_240_grams_and_its_points(client, login):
    headers = login()
    response = post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(3)))
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["status"] == "credited" and record["kind"] == "travel" and record["subtype"] == "bike"
    assert record["distance_km"] == pytest.approx(5.0, rel=0.01)
    assert record["co2_g"] == pytest.approx(240, rel=0.01)
    assert record["points"] == pytest.approx(record["co2_g"] * 0.1, abs=0.05)
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert account["balance_points"] == record["points"] and account["co2_g_total"] == record["co2_g"]


@pytest.mark.parametrize("mode, km, grams_per_km", [("bus", 8.0, 26.92), ("subway", 12.0, 46.8)])
def test_bus_and_subway_rides_earn_their_factor(client, login, mode, km, grams_per_km):
    response = post_trip(client, login(), tracks.realistic_track(mode, km=km, start=hours_ago(4)), mode=mode)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["co2_g"] == pytest.approx(km * grams_per_km, rel=0.01)


def test_a_refused_trip_credits_nothing(client, login):
    headers = login()
    fast = tracks.realistic_track("bike", km=5.0, start=hours_ago(3), cruise_kmh=50)
    assert refusal_reason(post_trip(client, headers, fast)) in {"segment_too_fast", "average_too_fast"}
    assert client.get("/api/v1/records", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 0


@pytest.mark.parametrize("make_track, reason", [
    (lambda: tracks.realistic_track("bike", km=5.0, start=hours_ago(3))[:3], "too_few_points"),
    (lambda: tracks.realistic_track("bike", km=0.1, start=hours_ago(3)), "too_short"),
    (lambda: tracks.realistic_track("bike", km=5.0, start=hours_ago(3))[::-1], "timestamps_out_of_order"),
    (lambda: tracks.realistic_track("bike", km=5.0, start=hours_ago(-1)), "timestamp_in_future"),
    (lambda: tracks.moved_from(tracks.realistic_track("bike", km=5.0, start=hours_ago(3)), 40, 3000),
     "teleport"),
    (lambda: tracks.synthetic_track(km=5.0, start=hours_ago(3)), "synthetic_regularity"),
])
def test_cheats_are_refused_with_their_reason(client, login, make_track, reason):
    assert refusal_reason(post_trip(client, login(), make_track())) == reason


def test_the_same_track_again_is_refused_even_shifted_jittered_or_from_another_user(client, login):
    ride = tracks.realistic_track("bike", km=5.0, start=hours_ago(30))
    assert post_trip(client, login("ann"), ride).status_code == 201
    ben = login("ben")
    assert refusal_reason(post_trip(client, ben, ride)) in {"duplicate_track", "overlaps_other_trip"}
    assert refusal_reason(post_trip(client, ben, tracks.shifted(ride, hours=24))) == "duplicate_track"
    assert refusal_reason(post_trip(client, ben, tracks.jittered(tracks.shifted(ride, hours=25), 5))) \
        == "duplicate_track"
    assert client.get("/api/v1/records", headers=ben).get_json()["items"] == []


def test_the_same_commute_ridden_on_another_day_is_credited(client, login):
    headers = login()
    monday = tracks.realistic_track("bike", km=5.0, start=hours_ago(30), seed=1, route_seed=9)
    tuesday = tracks.realistic_track("bike", km=5.0, start=hours_ago(6), seed=2, route_seed=9)
    assert post_trip(client, headers, monday).status_code == 201
    assert post_trip(client, headers, tuesday).status_code == 201


def test_a_trip_overlapping_the_users_other_trip_is_refused(client, login):
    headers = login()
    bike = tracks.realistic_track("bike", km=5.0, start=hours_ago(3), seed=3)
    assert post_trip(client, headers, bike).status_code == 201
    bus = tracks.realistic_track("bus", km=6.0, start=hours_ago(3) + timedelta(minutes=5), seed=4)
    assert refusal_reason(post_trip(client, headers, bus, mode="bus")) == "overlaps_other_trip"


def test_daily_cap_credits_up_to_the_cap_then_refuses(client, login, app):
    headers = login()
    caps = app.config["TRIP_DAILY_CAP_KM"]
    app.config["TRIP_DAILY_CAP_KM"] = {**caps, "bike": Decimal("8")}
    try:
        day_start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=5, second=0, microsecond=0)
        if datetime.now(UTC) - day_start.astimezone(UTC) < timedelta(hours=3):
            day_start -= timedelta(days=1)  # keep all three rides on one local day, in the past
        rides = [tracks.realistic_track("bike", km=5.0, start=day_start + timedelta(minutes=40 * i),
                                        seed=10 + i, route_seed=20 + i) for i in range(3)]
        first, second, third = (post_trip(client, headers, ride) for ride in rides)
        assert first.status_code == 201 and second.status_code == 201
        left_km = 8 - first.get_json()["distance_km"]  # only what the first ride left of the 8 km cap
        assert second.get_json()["quantity"] == pytest.approx(left_km, abs=0.0005)
        assert second.get_json()["daily_cap_applied"] is True and first.get_json()["daily_cap_applied"] is False
        assert second.get_json()["co2_g"] == pytest.approx(left_km * 48, abs=0.01)
        assert third.status_code == 409 and third.get_json()["error"]["code"] == "daily_limit_reached"
    finally:
        app.config["TRIP_DAILY_CAP_KM"] = caps


def test_a_trip_belongs_to_its_shanghai_day_not_its_utc_day(client, login):
    headers = login()
    # 16:30 UTC is 00:30 the next day in Shanghai.
    yesterday_utc = (datetime.now(UTC) - timedelta(days=1)).replace(hour=16, minute=30, second=0, microsecond=0)
    if yesterday_utc > datetime.now(UTC) - timedelta(hours=1):
        yesterday_utc -= timedelta(days=1)
    record = post_trip(client, headers, tracks.realistic_track("bike", km=3.0, start=yesterday_utc)).get_json()
    assert record["day"] == (yesterday_utc + timedelta(days=1)).date().isoformat()


def test_a_retried_trip_with_the_same_key_credits_once(client, login):
    headers = login()
    ride = tracks.realistic_track("bike", km=5.0, start=hours_ago(3))
    first = post_trip(client, headers, ride, **{"Idempotency-Key": "trip-42"})
    again = post_trip(client, headers, ride, **{"Idempotency-Key": "trip-42"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert len(client.get("/api/v1/ledger", headers=headers).get_json()["items"]) == 1


@pytest.mark.parametrize("body, field", [
    ({"mode": "car", "track": []}, "mode"),
    ({"mode": "bike", "track": "nope"}, "track"),
    ({"mode": "bike", "track": [{"lat": 91, "lng": 121, "t": "2026-11-25T08:00:00+08:00"}] * 5}, "track[0].lat"),
    ({"mode": "bike", "track": [{"lat": 31, "lng": 121, "t": "2026-11-25T08:00:00"}] * 5}, "track[0].t"),
])
def test_malformed_trips_are_422_validation_errors(client, login, body, field):
    response = client.post("/api/v1/trips", headers=login(), json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["details"]["field"] == field


def test_raw_tracks_are_reduced_to_their_summary_after_the_retention_period(client, login, app):
    headers = login()
    record = post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(3))).get_json()
    with app.app_context():
        db.session.execute(sa.update(Trip).values(ended_at=datetime.now(UTC) - timedelta(days=91)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert "tracks reduced to summary: 1" in result.output
    with app.app_context():
        trip = db.session.get(Trip, record["id"])
        assert trip.track is None and trip.shape is None and trip.distance_km == Decimal(str(record["distance_km"]))
    assert client.get("/api/v1/records", headers=headers).get_json()["items"][0]["co2_g"] == record["co2_g"]


def test_the_track_is_kept_as_sent_for_disputes_credited_or_refused(client, login, app):
    headers = login()
    sent = [{**fix, "accuracy": 5.0} for fix in tracks.realistic_track("bike", km=3.0, start=hours_ago(3))]
    record = post_trip(client, headers, sent).get_json()
    fast = tracks.realistic_track("bike", km=3.0, start=hours_ago(6), cruise_kmh=50)
    refusal = post_trip(client, headers, fast).get_json()["error"]["details"]
    with app.app_context():
        kept = db.session.get(Trip, record["id"])
        assert kept.track == sent  # every fix and every key a client sent along
        canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"))
        assert kept.track_digest == hashlib.sha256(canonical.encode()).hexdigest()
        assert db.session.get(TripRefusal, refusal["refusal_id"]).track == fast


def test_riders_on_the_same_bus_at_the_same_time_are_each_credited(client, login):
    ride = tracks.realistic_track("bus", km=8.0, start=hours_ago(3), seed=5)
    fellow_rider = tracks.jittered(ride, 6, seed=11)  # another phone on the same bus: its own GPS noise
    assert post_trip(client, login("ann"), ride, mode="bus").status_code == 201
    assert post_trip(client, login("ben"), fellow_rider, mode="bus").status_code == 201
