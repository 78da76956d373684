"""规范就寝: last night only, one per night, 77.6 g per hour before 23:00 by the minute, at most 3 h."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest


def last_night() -> str:
    """Yesterday in Shanghai, as the server will see it: near midnight, wait for the new day first."""
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    to_midnight = (24 * 3600) - (local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6)
    if to_midnight < 10:
        time.sleep(to_midnight + 0.1)
        local = datetime.now(ZoneInfo("Asia/Shanghai"))
    return (local.date() - timedelta(days=1)).isoformat()


def post_bedtime(client, headers, bedtime, night=None, **extra):
    return client.post("/api/v1/bedtimes", headers={**headers, **extra},
                       json={"night": night or last_night(), "bedtime": bedtime})


@pytest.mark.parametrize("bedtime, minutes, co2_g, points", [
    ("22:00", 60, 77.6, 7.8),
    ("22:17", 43, 55.61, 5.6),    # 77.6 × 43 / 60 = 55.613…
    ("22:59", 1, 1.29, 0.1),
    ("20:00", 180, 232.8, 23.3),  # exactly 3 h
    ("18:30", 180, 232.8, 23.3),  # capped at 3 h
    ("23:00", 0, 0, 0),
    ("23:45", 0, 0, 0),
    ("00:30", 0, 0, 0),           # after midnight counts as after 23:00
    ("03:00", 0, 0, 0),
])
def test_bedtime_credit_is_prorated_by_minute_and_capped(client, login, bedtime, minutes, co2_g, points):
    headers = login()
    response = post_bedtime(client, headers, bedtime)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["kind"] == "bedtime" and record["status"] == "credited"
    assert record["minutes_early"] == minutes and record["bedtime"] == bedtime
    assert record["co2_g"] == pytest.approx(co2_g, abs=0) and record["points"] == pytest.approx(points, abs=0)
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert account["balance_points"] == pytest.approx(points, abs=0)


def test_amounts_are_written_with_their_places(client, login):
    raw = post_bedtime(client, login(), "22:00").get_data(as_text=True)
    assert '"co2_g": 77.60' in raw and '"points": 7.8' in raw


def test_only_last_night_may_be_recorded(client, login):
    headers = login()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    for night in (today, today - timedelta(days=2), today + timedelta(days=1)):
        response = post_bedtime(client, headers, "22:00", night=night.isoformat())
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "invalid_night" and error["details"]["expected"] == last_night()


def test_one_bedtime_per_night(client, login):
    headers = login()
    assert post_bedtime(client, headers, "22:00").status_code == 201
    second = post_bedtime(client, headers, "21:00")
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "duplicate_record"
    ledger = client.get("/api/v1/ledger", headers=headers).get_json()["items"]
    assert [e["points"] for e in ledger] == [7.8]


def test_each_user_has_their_own_night(client, login):
    assert post_bedtime(client, login("ann"), "22:00").status_code == 201
    assert post_bedtime(client, login("ben"), "22:00").status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"night": "2026-13-01", "bedtime": "22:00"}, "night"),
    ({"night": "yesterday", "bedtime": "22:00"}, "night"),
    ({"night": None, "bedtime": "24:00"}, "bedtime"),
    ({"night": None, "bedtime": "9:30"}, "bedtime"),
    ({"night": None, "bedtime": "22:60"}, "bedtime"),
])
def test_malformed_bedtimes_are_422_with_the_field(client, login, body, field):
    body = {**body, "night": body["night"] or last_night()}
    response = client.post("/api/v1/bedtimes", headers=login(), json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["field"] == field


def test_a_late_night_is_recorded_with_zero_points_and_no_ledger_entry(client, login):
    headers = login()
    record = post_bedtime(client, headers, "23:30").get_json()
    assert record["points"] == 0
    assert client.get("/api/v1/records", headers=headers).get_json()["items"][0]["id"] == record["id"]
    assert client.get("/api/v1/ledger", headers=headers).get_json()["items"] == []
