"""The appeals queue: oldest first, each appeal beside the decision it contests, decided once by a
moderator other than the one who rejected; the dashboard's duplicate-override figure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appeal, AuditEntry, LedgerEntry, Photo, Record
from app.services import moderation
from tests import tracks
from tests.admin.factories import create_staff, csrf_token, dev_login, jpeg, log_in, upload_photo


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def rejecter(app) -> int:
    """Moderator A, who rejects the photos appealed below (the logged-in moderator_client is B)."""
    return create_staff(app, "mod-a", "moderator")


@pytest.fixture
def appealed(app, rejecter):
    """A rejected photo record and its appeal, made through the API: returns (record, appeal, headers)."""
    seeds = iter(range(100, 200))

    def _make(name: str = "xiaoming", reason: str = "照片与所报行为不符") -> tuple[dict, dict, dict]:
        api = app.test_client()
        headers = dev_login(api, app, name)
        record = upload_photo(api, headers, jpeg(next(seeds)))
        with app.app_context():
            moderation.decide(record["id"], rejecter, "reject", reason, None)
        response = api.post("/api/v1/appeals", headers=headers, json={"record_id": record["id"],
                                                                      "text": "这是我今天在小区分类的厨余"})
        assert response.status_code == 201, response.get_json()
        return record, response.get_json(), headers

    return _make


def _decide(client, appeal_id, **form):
    token = csrf_token(client, f"/admin/appeals/{appeal_id}")
    return client.post(f"/admin/appeals/{appeal_id}", data={"csrf_token": token, **form})


def test_the_queue_lists_pending_appeals_oldest_first(app, moderator_client, appealed):
    first, second = appealed("a")[1], appealed("b")[1]
    page = _text(moderator_client.get("/admin/appeals"))
    assert [int(i) for i in re.findall(r'id="appeal-(\d+)"', page)] == [first["id"], second["id"]]
    assert re.sub(r"\s+|<[^>]+>", "", re.search(r'id="appeals-summary">(.*?)</span>', page, re.S).group(1)
                  ).startswith("待处理2条")
    assert "审核员 #" in page and "照片与所报行为不符" in page


def test_the_appeal_page_shows_the_first_decision_the_photo_and_the_users_text(app, moderator_client, appealed):
    record, appeal, _ = appealed()
    page = _text(moderator_client.get(f"/admin/appeals/{appeal['id']}"))
    first = page[page.index('id="first-decision"'):page.index('id="appeal-text"')]
    assert "mod-a" in first and "照片与所报行为不符" in first
    assert f'src="/admin/photos/{record["photo"]["id"]}"' in page
    assert "这是我今天在小区分类的厨余" in page
    assert 'name="decision" value="grant"' in page and 'name="decision" value="deny"' in page  # two buttons
    assert 'name="csrf_token"' in page and 'id="own-rejection"' not in page


def test_another_moderator_grants_and_the_record_is_credited(app, moderator_client, appealed):
    record, appeal, headers = appealed()
    response = _decide(moderator_client, appeal["id"], decision="grant", reason="复核后确认为本人实拍")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/appeals"
    page = _text(moderator_client.get("/admin/appeals"))
    assert f"申诉 #{appeal['id']} 已批准，记录 #{record['id']} 已入账" in page and "没有待处理的申诉。" in page
    with app.app_context():
        stored = db.session.get(Record, record["id"])
        assert stored.status == "credited" and stored.reject_reason is None
        entry = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.record_id == record["id"])).one()
        assert entry.points == Decimal(str(record["points"]))
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "appeal_grant")).one()
        assert audit.record_id == record["id"] and audit.details["reason"] == "复核后确认为本人实拍"
    seen = app.test_client().get(f"/api/v1/appeals/{appeal['id']}", headers=headers).get_json()
    assert seen["status"] == "granted" and seen["record"]["status"] == "credited"
    decided = _text(moderator_client.get(f"/admin/appeals/{appeal['id']}"))
    assert "已批准" in decided and "mod-mei" in decided and 'name="decision"' not in decided


def test_the_moderator_who_rejected_is_refused_with_a_message(app, appealed):
    _, appeal, _ = appealed()
    client = app.test_client()
    assert log_in(client, "mod-a").status_code == 302
    page = _text(client.get(f"/admin/appeals/{appeal['id']}"))
    assert "该记录由你驳回：申诉须由另一位审核员处理。" in page
    response = _decide(client, appeal["id"], decision="grant", reason="我改主意了")
    assert response.status_code == 403
    assert "申诉须由另一位审核员处理：原决定是你作出的" in _text(response)
    with app.app_context():
        assert db.session.get(Appeal, appeal["id"]).status == "pending"


def test_an_appeal_is_decided_once_and_a_reason_is_required(app, moderator_client, appealed):
    _, appeal, headers = appealed()
    missing = _decide(moderator_client, appeal["id"], decision="deny", reason="")
    assert missing.status_code == 422 and "请填写处理理由" in _text(missing)
    assert _decide(moderator_client, appeal["id"], decision="deny", reason="照片为网络图片").status_code == 302
    again = _decide(moderator_client, appeal["id"], decision="grant", reason="再看一次")
    assert again.status_code == 409 and "该申诉已处理" in _text(again)
    seen = app.test_client().get(f"/api/v1/appeals/{appeal['id']}", headers=headers).get_json()
    assert (seen["status"], seen["outcome_reason"]) == ("denied", "照片为网络图片")


def test_a_decision_without_the_csrf_token_is_refused(app, moderator_client, appealed):
    _, appeal, _ = appealed()
    response = moderator_client.post(f"/admin/appeals/{appeal['id']}", data={"decision": "grant", "reason": "x"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Appeal, appeal["id"]).status == "pending"


def _refused_trip_appeal(app, name: str, km: float, start: datetime, seed: int) -> tuple[int, dict]:
    api = app.test_client()
    headers = dev_login(api, app, name)
    fast = tracks.realistic_track("bike", km=km, start=start, cruise_kmh=50, seed=seed, route_seed=seed)
    refusal = api.post("/api/v1/trips", headers=headers, json={"mode": "bike", "track": fast}).get_json()
    response = api.post("/api/v1/appeals", headers=headers, json={
        "trip_refusal_id": refusal["error"]["details"]["refusal_id"], "text": "我骑的是电助力车"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"], headers


def test_a_refused_trip_shows_its_track_and_a_grant_credits_it_within_the_daily_cap(app, moderator_client):
    start = datetime.now(UTC) - timedelta(hours=3)
    appeal_id, headers = _refused_trip_appeal(app, "rider", 5.0, start, seed=31)
    page = _text(moderator_client.get(f"/admin/appeals/{appeal_id}"))
    assert "<polyline points=" in page and "自动检查拒绝" in page and "我骑的是电助力车" in page
    assert "被拒绝的行程 #" in _text(moderator_client.get("/admin/appeals"))
    caps = app.config["TRIP_DAILY_CAP_KM"]
    app.config["TRIP_DAILY_CAP_KM"] = {**caps, "bike": Decimal("3")}
    try:
        assert _decide(moderator_client, appeal_id, decision="grant", reason="电助力车按自行车计").status_code == 302
    finally:
        app.config["TRIP_DAILY_CAP_KM"] = caps
    record = app.test_client().get(f"/api/v1/appeals/{appeal_id}", headers=headers).get_json()["record"]
    # The day's 3 km cap clips the 5 km trip: 3 km credited, at the bike factor of 48 g/km.
    assert record["quantity"] == 3 and record["daily_cap_applied"] is True and record["co2_g"] == 144
    assert record["distance_km"] == pytest.approx(5.0, rel=0.02)


def test_the_dashboard_shows_how_often_the_duplicate_check_was_overruled(app, moderator_client, appealed,
                                                                         rejecter, pending_photos):
    empty = _text(moderator_client.get("/admin/dashboard"))
    assert 'id="overrides-none"' in empty
    original = pending_photos(1)[0]
    approved, rejected = pending_photos(2)
    appealed_record, appeal, _ = appealed()
    suspects = [approved["photo"]["id"], rejected["photo"]["id"], appealed_record["photo"]["id"]]
    with app.app_context():
        db.session.execute(sa.update(Photo).where(Photo.id.in_(suspects))
                           .values(suspected_original_id=original["photo"]["id"], suspected_distance=9))
        db.session.commit()
        moderation.decide(approved["id"], rejecter, "approve", None, None)
        moderation.decide(rejected["id"], rejecter, "reject", "重复提交或翻拍他人照片", None)
    _decide(moderator_client, appeal["id"], decision="grant", reason="不是翻拍")
    page = _text(moderator_client.get("/admin/dashboard"))
    # 3 flagged records decided: approved at review, rejected, rejected then granted on appeal → 2 of 3.
    assert re.search(r'id="overrides-percent">66.7%<', page)
    assert re.search(r'id="overrides-count">2 / 3<', page)
    assert re.search(r'id="overrides-via-appeal">1<', page)
