"""Every record answers "why N grams": activity × its own factor (value, version, source) → grams → points,
with the caps, corrections and reversals applied, in every API answer that carries a record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from app.extensions import db
from app.models import Staff
from app.services import clock, factors, moderation
from tests import tracks
from tests.admin.factories import jpeg
from tests.api.test_bedtimes import post_bedtime
from tests.api.test_photos import upload
from tests.api.test_trips import hours_ago, post_trip
from tests.partner.conftest import ago, bike_event, bound_user, make_partner, partner  # noqa: F401  (fixtures)
from tests.partner.test_trip_overlap import track_times

SEED_SOURCE = "闫婕《“双碳”目标下个人碳账户微信小程序平台构建》表2"


@pytest.fixture
def moderator_id(app) -> int:
    with app.app_context():
        staff = Staff(username="mod-explain", password_hash="-", role="moderator")
        db.session.add(staff)
        db.session.commit()
        return staff.id


def records_of(client, headers) -> dict[int, dict]:
    return {r["id"]: r for r in client.get("/api/v1/records", headers=headers).get_json()["items"]}


def test_a_bike_trip_explains_its_distance_factor_grams_and_points(client, login):
    headers = login()
    record = post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(3))).get_json()
    explanation = record["explanation"]
    km = Decimal(str(record["quantity"]))
    assert record["source"] == "user" and record["verified"] is False
    assert "骑行" in explanation["activity"]["text"] and "GPS" in explanation["activity"]["text"]
    assert explanation["factor"] == {"grams_per_unit": 48, "unit": "km", "version": 1,
                                     "valid_from": explanation["factor"]["valid_from"], "source": SEED_SOURCE}
    co2, points = Decimal(str(record["co2_g"])), Decimal(str(record["points"]))
    assert explanation["co2_g"] == f"{km} km × 48 g/km = {co2:.2f} g"
    assert explanation["points"] == f"{co2:.2f} g × 0.1 积分/g = {points:.1f} 积分（四舍五入到 0.1）"
    assert explanation["adjustments"] == [] and explanation["status"] == f"已计入 {points:.1f} 积分"
    assert records_of(client, headers)[record["id"]]["explanation"] == explanation  # the list says the same


def test_a_trip_cut_by_the_daily_cap_says_how_much_was_travelled_and_credited(app, client, login):
    caps = app.config["TRIP_DAILY_CAP_KM"]
    app.config["TRIP_DAILY_CAP_KM"] = {**caps, "bike": Decimal("2")}
    headers = login()
    try:
        record = post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(3))).get_json()
    finally:
        app.config["TRIP_DAILY_CAP_KM"] = caps
    assert record["daily_cap_applied"] is True and record["quantity"] == 2
    [cap] = record["explanation"]["adjustments"]
    assert cap["type"] == "daily_cap" and cap["after"] == 2 and cap["before"] == record["distance_km"]
    assert record["explanation"]["co2_g"] == "2 km × 48 g/km = 96.00 g"
    assert records_of(client, headers)[record["id"]]["explanation"] == record["explanation"]


@pytest.mark.parametrize("bedtime, co2_formula, adjustment, status", [
    ("22:30", "30 分钟 ÷ 60 × 77.6 g/小时 = 38.80 g", None, "已计入 3.9 积分"),
    ("18:30", "180 分钟 ÷ 60 × 77.6 g/小时 = 232.80 g", (270, 180), "已计入 23.3 积分"),
    ("23:30", "0 分钟 ÷ 60 × 77.6 g/小时 = 0.00 g", None, "已记录，不计积分"),
])
def test_a_bedtime_explains_its_minutes_and_the_three_hour_cap(client, login, bedtime, co2_formula, adjustment,
                                                               status):
    explanation = post_bedtime(client, login(), bedtime).get_json()["explanation"]
    assert explanation["co2_g"] == co2_formula and explanation["status"] == status
    assert bedtime in explanation["activity"]["text"]
    caps = [(a["before"], a["after"]) for a in explanation["adjustments"] if a["type"] == "bedtime_cap"]
    assert caps == ([adjustment] if adjustment else [])


def test_a_photo_record_is_pending_then_rejected_with_the_moderators_reason(app, client, login, moderator_id):
    headers = login()
    record = upload(client, headers, jpeg(1)).get_json()
    assert record["explanation"]["status"] == "待审核：审核员确认照片后计入 6.8 积分"
    assert record["explanation"]["co2_g"] == "1 次 × 68 g/次 = 68.00 g"
    with app.app_context():
        moderation.decide(record["id"], moderator_id, "reject", "照片模糊，无法辨认", None)
    assert records_of(client, headers)[record["id"]]["explanation"]["status"] == "已驳回：照片模糊，无法辨认"


def test_a_moderators_weight_correction_is_shown_with_both_weights(app, client, login, moderator_id):
    headers = login()
    record = upload(client, headers, jpeg(2), kind="recycling", material="textile", weight_kg="3").get_json()
    with app.app_context():
        moderation.decide(record["id"], moderator_id, "approve", None, "2.5")
    explanation = records_of(client, headers)[record["id"]]["explanation"]
    assert explanation["activity"]["quantity"] == 2.5 and "旧衣物 2.5 kg" in explanation["activity"]["text"]
    [correction] = explanation["adjustments"]
    assert (correction["type"], correction["before"], correction["after"], correction["unit"]) == \
        ("moderator_correction", 3, 2.5, "kg")
    assert "由 3 kg 更正为 2.5 kg" in correction["text"] and correction["at"]
    assert explanation["co2_g"] == "2.5 kg × 3600 g/kg = 9000.00 g"
    assert explanation["status"] == "已计入 900.0 积分"


def test_a_new_factor_version_leaves_old_records_grams_points_and_explanation_unchanged(app, client, login):
    ann, ben = login("ann"), login("ben")
    before = post_bedtime(client, ann, "22:00").get_json()
    old_view = records_of(client, ann)
    with app.app_context():
        factors.publish_factor("bedtime", None, "80", "测试：修订后的方法学", None, staff_id=None)
    after = post_bedtime(client, ben, "22:00").get_json()
    assert (after["co2_g"], after["points"], after["factor"]["version"]) == (80, 8, 2)
    assert after["explanation"]["factor"]["source"] == "测试：修订后的方法学"
    assert after["explanation"]["co2_g"] == "60 分钟 ÷ 60 × 80 g/小时 = 80.00 g"
    assert records_of(client, ann) == old_view  # grams, points and explanation exactly as before
    assert old_view[before["id"]]["explanation"]["factor"]["version"] == 1
    assert old_view[before["id"]]["co2_g"] == 77.6 and old_view[before["id"]]["points"] == 7.8
    export = client.get("/api/v1/me/export", headers=ann).get_json()
    assert export["records"][0]["explanation"] == old_view[before["id"]]["explanation"]


def test_a_factor_published_for_later_is_not_current_until_it_starts(app, client, login):
    with app.app_context():
        factors.publish_factor("travel", "bike", "50", "测试：下月起的新方法学", clock.now() + timedelta(days=30),
                               staff_id=None)
    catalog = {(f["kind"], f["subtype"]): f for f in client.get("/api/v1/factors").get_json()["items"]}
    bike = catalog[("travel", "bike")]
    assert (bike["grams_per_unit"], bike["version"], bike["source"]) == (48, 1, SEED_SOURCE)
    assert {"kind", "subtype", "grams_per_unit", "points_per_unit", "unit", "valid_from"} <= set(bike)
    record = post_trip(client, login(), tracks.realistic_track("bike", km=5.0, start=hours_ago(3))).get_json()
    assert record["explanation"]["factor"]["version"] == 1


def test_a_partner_trip_is_explained_as_verified_and_the_replaced_gps_trip_shows_its_reversal(
        live_server, partner, bound_user):  # noqa: F811
    _, partner_client = partner
    headers, binding = bound_user()
    track = tracks.realistic_track("bike", km=5.0, start=ago(hours=3))
    gps = requests.post(f"{live_server}/api/v1/trips", headers=headers, json={"mode": "bike", "track": track},
                        timeout=30).json()
    started, ended = track_times(track)
    sent = partner_client.send_event(bike_event(binding, km="5.1", minutes=int((ended - started).total_seconds() // 60),
                                                start=started))
    assert sent.status_code == 201, sent.text
    verified = sent.json()["record"]
    assert "来自合作方「上海地铁」，已核实" in verified["explanation"]["activity"]["text"]
    assert verified["explanation"]["co2_g"] == "5.1 km × 48 g/km = 244.80 g"
    items = requests.get(f"{live_server}/api/v1/records", headers=headers, timeout=10).json()["items"]
    mine = {r["id"]: r for r in items}
    assert mine[verified["id"]]["source"].startswith("partner:") and mine[verified["id"]]["verified"] is True
    replaced = mine[gps["id"]]["explanation"]
    [reversal] = replaced["adjustments"]
    assert reversal["type"] == "reversal" and Decimal(str(reversal["points"])) == -Decimal(str(gps["points"]))
    assert replaced["status"].startswith("已驳回：与合作方核实的行程重复")
