"""Appeals through the API: once per rejected photo record or refused trip, the user's own only, and
the outcome the second moderator gives, with the record it credits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import TripRefusal
from app.services import appeals, moderation
from tests import tracks
from tests.admin.factories import create_staff, jpeg, upload_photo
from tests.races import race


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


@pytest.fixture
def moderators(app) -> tuple[int, int]:
    return create_staff(app, "mod-a", "moderator"), create_staff(app, "mod-b", "moderator")


def rejected_photo(app, client, headers, moderator_id: int, seed: int = 1, reason: str = "照片与所报行为不符") -> dict:
    record = upload_photo(client, headers, jpeg(seed))
    with app.app_context():
        moderation.decide(record["id"], moderator_id, "reject", reason, None)
    return record


def refused_trip(client, headers, fast: list | None = None, **extra_headers) -> dict:
    """A 5 km ride at 50 km/h on a bike: refused as implausible, kept for an appeal."""
    fast = fast or tracks.realistic_track("bike", km=5.0, start=hours_ago(3), cruise_kmh=50)
    response = client.post("/api/v1/trips", headers={**headers, **extra_headers}, json={"mode": "bike", "track": fast})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "implausible_trip"
    return response.get_json()["error"]["details"]


def appeal(client, headers, **body):
    return client.post("/api/v1/appeals", headers=headers, json={"text": "这是我自己拍的照片", **body})


def decide(app, appeal_id, staff_id, decision, reason="复核后确认"):
    with app.app_context():
        return appeals.decide_appeal(appeal_id, staff_id, decision, reason)


def test_a_rejected_photo_record_is_appealed_once(app, client, login, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    response = appeal(client, headers, record_id=record["id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["record_id"] == record["id"] and body["trip_refusal_id"] is None
    assert body["text"] == "这是我自己拍的照片" and body["decided_at"] is None and body["outcome_reason"] is None
    assert "record" not in body

    again = appeal(client, headers, record_id=record["id"], text="再申诉一次")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_record"
    assert again.get_json()["error"]["details"] == {"appeal_id": body["id"]}
    assert client.get(f"/api/v1/appeals/{body['id']}", headers=headers).get_json() == body
    listed = client.get("/api/v1/appeals", headers=headers).get_json()
    assert listed == {"items": [body], "next_cursor": None}


def test_granting_credits_the_record_and_the_user_sees_outcome_and_reason(app, client, login, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    appeal_id = appeal(client, headers, record_id=record["id"]).get_json()["id"]
    decide(app, appeal_id, moderators[1], "grant", "复核后确认为本人实拍")

    seen = client.get(f"/api/v1/appeals/{appeal_id}", headers=headers).get_json()
    assert seen["status"] == "granted" and seen["outcome_reason"] == "复核后确认为本人实拍"
    assert seen["decided_at"] is not None
    assert seen["record"]["id"] == record["id"] and seen["record"]["status"] == "credited"
    assert seen["record"]["points"] == record["points"] and "reject_reason" not in seen["record"]
    # "Why N grams" says the points came from the appeal, with the moderator's reason, everywhere.
    listed = client.get("/api/v1/records", headers=headers).get_json()["items"]
    for shown in (seen["record"], *[r for r in listed if r["id"] == record["id"]]):
        assert shown["explanation"]["status"] == f"已计入 {record['points']:.1f} 积分（申诉通过：复核后确认为本人实拍）"
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == record["points"]
    ledger = client.get("/api/v1/ledger", headers=headers).get_json()["items"]
    assert [(e["record_id"], e["points"]) for e in ledger] == [(record["id"], record["points"])]


def test_a_denied_appeal_shows_its_reason_and_credits_nothing(app, client, login, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    appeal_id = appeal(client, headers, record_id=record["id"]).get_json()["id"]
    decide(app, appeal_id, moderators[1], "deny", "照片确为网络图片")
    seen = client.get(f"/api/v1/appeals/{appeal_id}", headers=headers).get_json()
    assert (seen["status"], seen["outcome_reason"]) == ("denied", "照片确为网络图片") and "record" not in seen
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 0


def test_the_moderator_who_rejected_cannot_decide_the_appeal(app, client, login, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    appeal_id = appeal(client, headers, record_id=record["id"]).get_json()["id"]
    with pytest.raises(appeals.SameModerator):
        decide(app, appeal_id, moderators[0], "grant")
    assert client.get(f"/api/v1/appeals/{appeal_id}", headers=headers).get_json()["status"] == "pending"
    decide(app, appeal_id, moderators[1], "deny")
    with pytest.raises(appeals.AppealAlreadyDecided):
        decide(app, appeal_id, moderators[1], "grant")


def test_someone_elses_record_or_appeal_is_not_found(app, client, login, moderators):
    owner, other = login("owner"), login("other")
    record = rejected_photo(app, client, owner, moderators[0])
    response = appeal(client, other, record_id=record["id"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    appeal_id = appeal(client, owner, record_id=record["id"]).get_json()["id"]
    assert client.get(f"/api/v1/appeals/{appeal_id}", headers=other).status_code == 404
    assert client.get("/api/v1/appeals", headers=other).get_json()["items"] == []
    refusal_id = refused_trip(client, owner)["refusal_id"]
    assert appeal(client, other, trip_refusal_id=refusal_id).status_code == 404


def test_a_pending_or_credited_record_is_not_appealable(app, client, login, moderators):
    headers = login()
    pending = upload_photo(client, headers, jpeg(1))
    credited = upload_photo(client, headers, jpeg(2))
    with app.app_context():
        moderation.decide(credited["id"], moderators[0], "approve", None, None)
    for record in (pending, credited):
        response = appeal(client, headers, record_id=record["id"])
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["code"] == "not_appealable"


@pytest.mark.parametrize("body, field", [
    ({"record_id": 1, "text": ""}, "text"),
    ({"record_id": 1, "text": "长" * 501}, "text"),
    ({"record_id": 1, "text": "   "}, "text"),
    ({"text": "没有指明申诉对象"}, "record_id"),
    ({"record_id": 1, "trip_refusal_id": 1, "text": "两个都给"}, "record_id"),
])
def test_an_appeal_needs_one_target_and_a_short_text(client, login, body, field):
    response = client.post("/api/v1/appeals", headers=login(), json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["details"]["field"] == field


def test_a_refused_trip_credits_nothing_but_is_kept_for_an_appeal(app, client, login):
    headers = login()
    details = refused_trip(client, headers)
    assert details["reason"] in {"segment_too_fast", "average_too_fast"}
    assert client.get("/api/v1/records", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 0
    with app.app_context():
        refusal = db.session.get(TripRefusal, details["refusal_id"])
        assert refusal.reason == details["reason"] and refusal.mode == "bike"
        assert float(refusal.distance_km) == pytest.approx(5.0, rel=0.02) and len(refusal.track) > 50

    response = appeal(client, headers, trip_refusal_id=details["refusal_id"], text="我骑的是电助力自行车")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["trip_refusal_id"] == details["refusal_id"]
    again = appeal(client, headers, trip_refusal_id=details["refusal_id"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_record"


def test_a_refused_trip_under_an_idempotency_key_is_kept_once(app, client, login):
    headers = login()
    fast = tracks.realistic_track("bike", km=5.0, start=hours_ago(3), cruise_kmh=50)
    first = refused_trip(client, headers, fast, **{"Idempotency-Key": "trip-refused-1"})
    again = refused_trip(client, headers, fast, **{"Idempotency-Key": "trip-refused-1"})
    assert first == again
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TripRefusal)) == 1
    assert appeal(client, headers, trip_refusal_id=first["refusal_id"]).status_code == 201


def test_granting_a_refused_trip_credits_it_at_its_factor(app, client, login, moderators, fake_wechat):
    code = fake_wechat.issue_code("openid-appellant")
    token = client.post("/api/v1/auth/login", json={
        "code": code, "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    refusal_id = refused_trip(client, headers)["refusal_id"]
    appeal_id = appeal(client, headers, trip_refusal_id=refusal_id).get_json()["id"]
    app.config["WECHAT_REVIEW_TEMPLATE_ID"] = "tmpl-review"
    try:
        before = len(fake_wechat.messages)
        # A trip refused by the automatic check: any moderator may decide, the first one too.
        decide(app, appeal_id, moderators[0], "grant", "电助力自行车，按自行车计")
    finally:
        app.config["WECHAT_REVIEW_TEMPLATE_ID"] = None
    seen = client.get(f"/api/v1/appeals/{appeal_id}", headers=headers).get_json()
    record = seen["record"]
    assert seen["status"] == "granted" and record["status"] == "credited" and record["kind"] == "travel"
    assert record["mode"] == "bike" and record["distance_km"] == pytest.approx(5.0, rel=0.02)
    assert record["co2_g"] == pytest.approx(record["distance_km"] * 48, abs=0.01)  # bike: 48 g/km
    assert record["daily_cap_applied"] is False
    assert record["explanation"]["status"].endswith("（申诉通过：电助力自行车，按自行车计）")
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == record["points"]
    message = fake_wechat.messages[before]
    assert message["touser"] == "openid-appellant" and message["template_id"] == "tmpl-review"
    assert message["data"]["phrase2"]["value"] == "申诉通过"
    assert message["data"]["thing3"]["value"] == "电助力自行车，按自行车计"


def test_a_retried_appeal_with_the_same_key_is_one_appeal(app, client, login, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    retry = {**headers, "Idempotency-Key": "appeal-7"}
    first = appeal(client, retry, record_id=record["id"])
    again = appeal(client, retry, record_id=record["id"])
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_appeals_are_listed_newest_first_a_page_at_a_time(app, client, login, moderators):
    headers = login()
    ids = [appeal(client, headers, record_id=rejected_photo(app, client, headers, moderators[0], seed)["id"])
           .get_json()["id"] for seed in range(3)]
    page = client.get("/api/v1/appeals?limit=2", headers=headers).get_json()
    assert [a["id"] for a in page["items"]] == ids[:0:-1] and page["next_cursor"]
    rest = client.get(f"/api/v1/appeals?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [a["id"] for a in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


def test_export_lists_appeals_and_refused_trips_and_deletion_erases_them(app, client, login, moderators):
    headers = login()
    refusal_id = refused_trip(client, headers)["refusal_id"]
    appeal(client, headers, trip_refusal_id=refusal_id, text="我的申诉")
    export = client.get("/api/v1/me/export", headers=headers).get_json()
    assert [r["id"] for r in export["trip_refusals"]] == [refusal_id] and export["trip_refusals"][0]["track"]
    assert [a["text"] for a in export["appeals"]] == ["我的申诉"]
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    with app.app_context():
        assert db.session.get(TripRefusal, refusal_id).track is None
        queue = appeals.appeal_queue()
        assert queue.pending == 0


def test_purge_drops_refused_tracks_past_retention_unless_an_appeal_is_pending(app, client, login):
    headers = login()
    appealed = refused_trip(client, headers)["refusal_id"]
    appeal(client, headers, trip_refusal_id=appealed)
    other = tracks.realistic_track("bike", km=4.0, start=hours_ago(6), cruise_kmh=50, seed=5, route_seed=6)
    forgotten = client.post("/api/v1/trips", headers=headers, json={"mode": "bike", "track": other}
                            ).get_json()["error"]["details"]["refusal_id"]
    with app.app_context():
        db.session.execute(sa.update(TripRefusal).values(created_at=datetime.now(UTC) - timedelta(days=91)))
        db.session.commit()
    assert "tracks reduced to summary: 1" in app.test_cli_runner().invoke(args=["purge"]).output
    with app.app_context():
        assert db.session.get(TripRefusal, forgotten).track is None
        assert db.session.get(TripRefusal, appealed).track is not None


def test_appeals_sent_at_once_make_one_appeal(app, client, login, live_server, moderators):
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    statuses = race(6, lambda i: requests.post(f"{live_server}/api/v1/appeals", headers=headers, timeout=30, json={
        "record_id": record["id"], "text": f"第 {i} 次点击"}).status_code)
    assert sorted(statuses) == [201] + [409] * 5
    assert len(client.get("/api/v1/appeals", headers=headers).get_json()["items"]) == 1


def test_two_moderators_deciding_at_once_credit_once(app, client, login, moderators):
    third = create_staff(app, "mod-c", "moderator")
    headers = login()
    record = rejected_photo(app, client, headers, moderators[0])
    appeal_id = appeal(client, headers, record_id=record["id"]).get_json()["id"]

    def attempt(i):
        try:
            decide(app, appeal_id, (moderators[1], third)[i], "grant")
        except appeals.AppealAlreadyDecided:
            return "already decided"
        return "granted"

    assert sorted(race(2, attempt)) == ["already decided", "granted"]
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == record["points"]
    assert len(client.get("/api/v1/ledger", headers=headers).get_json()["items"]) == 1
