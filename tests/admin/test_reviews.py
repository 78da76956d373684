"""The review pages: the queue oldest first, one record in context, a decision, and photos for staff."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, LedgerEntry, Photo, Record
from tests.admin.factories import csrf_token


def _text(response) -> str:
    return response.get_data(as_text=True)


def _decide(client, record_id, token=None, **form):
    token = token or csrf_token(client, f"/admin/reviews/{record_id}")
    return client.post(f"/admin/reviews/{record_id}", data={"csrf_token": token, **form})


def _record(app, record_id) -> Record:
    with app.app_context():
        record = db.session.get(Record, record_id)
        db.session.expunge(record)
        return record


def test_the_queue_lists_pending_photos_oldest_first_with_counts(app, moderator_client, pending_photos):
    first, second, third = pending_photos(3)
    with app.app_context():
        db.session.execute(sa.update(Photo).where(Photo.record_id == third["id"])
                           .values(suspected_original_id=first["photo"]["id"], suspected_distance=7))
        db.session.commit()
    page = _text(moderator_client.get("/admin/reviews"))
    ids = [int(i) for i in re.findall(r'id="queue-(\d+)"', page)]
    assert ids == [first["id"], second["id"], third["id"]]
    summary = re.search(r'id="queue-summary">(.*?)</span>', page, re.S).group(1)
    assert re.sub(r"\s+|<[^>]+>", "", summary).startswith("待审核3条，其中疑似重复1条")
    assert page.count("疑似重复</span>") == 1
    assert re.search(r'id="nav-pending"[^>]*>3<', page)


def test_the_review_page_shows_the_photo_the_users_records_and_the_decision_form(
        app, moderator_client, pending_photos):
    record, = pending_photos(1)
    page = _text(moderator_client.get(f"/admin/reviews/{record['id']}"))
    assert f'src="/admin/photos/{record["photo"]["id"]}"' in page
    assert 'name="decision" value="approve"' in page and 'name="decision" value="reject"' in page
    assert 'name="reason"' in page and 'name="csrf_token"' in page
    assert 'name="weight_kg"' not in page  # only recycling records have a weight
    assert 'id="similar"' in page and 'id="recent"' in page


def test_the_review_page_shows_the_suspected_original_beside_the_photo(app, moderator_client, pending_photos):
    original, copy = pending_photos(2)
    with app.app_context():
        db.session.execute(sa.update(Photo).where(Photo.record_id == copy["id"])
                           .values(suspected_original_id=original["photo"]["id"], suspected_distance=9))
        db.session.commit()
    page = _text(moderator_client.get(f"/admin/reviews/{copy['id']}"))
    similar = page[page.index('id="similar"'):page.index('id="recent"')]
    assert f'src="/admin/photos/{original["photo"]["id"]}"' in similar
    assert "疑似原图" in similar and "距离 9" in similar


def test_photos_are_served_to_staff_only_and_never_cached(app, client, moderator_client, pending_photos):
    record, = pending_photos(1)
    url = f"/admin/photos/{record['photo']['id']}"
    response = moderator_client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(url).status_code == 302


def test_approving_credits_the_points_and_goes_to_the_next_pending_item(app, moderator_client, pending_photos):
    first, second = pending_photos(2)
    response = _decide(moderator_client, first["id"], decision="approve")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/reviews/{second['id']}"
    page = _text(moderator_client.get(response.headers["Location"]))
    assert f"记录 #{first['id']} 已通过" in page
    record = _record(app, first["id"])
    assert record.status == "credited" and record.decided_by is not None
    with app.app_context():
        assert db.session.scalar(sa.select(LedgerEntry.points).where(LedgerEntry.record_id == first["id"])) \
            == record.points
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.record_id == first["id"])) \
            == "record_approve"


def test_rejecting_needs_a_reason_and_keeps_what_was_typed(app, moderator_client, pending_photos):
    record, = pending_photos(1)
    refused = _decide(moderator_client, record["id"], decision="reject", reason="   ")
    assert refused.status_code == 422 and "驳回须填写原因" in _text(refused)
    assert _record(app, record["id"]).status == "pending"
    done = _decide(moderator_client, record["id"], decision="reject", reason="照片与所报行为不符")
    assert done.status_code == 302 and done.headers["Location"] == "/admin/reviews"
    page = _text(moderator_client.get("/admin/reviews"))
    assert "已驳回：照片与所报行为不符" in page and "待审核队列已清空" in page
    rejected = _record(app, record["id"])
    assert rejected.status == "rejected" and rejected.reject_reason == "照片与所报行为不符"


def test_a_record_is_decided_once_and_the_second_try_is_a_message_not_an_error(
        app, moderator_client, admin_client, pending_photos):
    record, = pending_photos(1)
    token = csrf_token(admin_client, f"/admin/reviews/{record['id']}")  # both have the page open
    assert _decide(moderator_client, record["id"], decision="approve").status_code == 302
    late = _decide(admin_client, record["id"], token=token, decision="reject", reason="太晚了")
    assert late.status_code == 302
    assert "该记录已被审核" in _text(admin_client.get(late.headers["Location"]))
    assert _record(app, record["id"]).status == "credited"
    decided = _text(admin_client.get(f"/admin/reviews/{record['id']}"))
    assert 'value="approve"' not in decided and "已通过" in decided


def test_a_moderator_corrects_the_weight_of_recycling(app, moderator_client, pending_photos):
    record, = pending_photos(1, kind="recycling", material="paper", weight_kg="5")
    page = _text(moderator_client.get(f"/admin/reviews/{record['id']}"))
    assert re.search(r'name="weight_kg"[^>]*value="5.000"', page)
    approved = _decide(moderator_client, record["id"], decision="approve", weight_kg="2.5")
    assert approved.status_code == 302
    flashed = _text(moderator_client.get(approved.headers["Location"]))
    assert "已通过（重量更正为 2.5 千克），发放 1355.0 积分" in flashed
    corrected = _record(app, record["id"])
    assert corrected.quantity == Decimal("2.500") and corrected.co2_g == Decimal("13550.00")
    assert corrected.points == Decimal("1355.0")


def test_bad_input_is_shown_on_the_page(app, moderator_client, pending_photos):
    record, = pending_photos(1, kind="recycling", material="textile", weight_kg="3")
    for form, message in (({"decision": "approve", "weight_kg": "heavy"}, "重量须为数字"),
                          ({"decision": "approve", "weight_kg": "80"}, "请求参数无效：重量（千克）"),
                          ({"decision": "maybe"}, "请选择通过或驳回"),
                          ({"decision": "reject", "reason": "x" * 300}, "原因至多 255 个字符")):
        response = _decide(moderator_client, record["id"], **form)
        assert response.status_code == 422, form
        assert message in _text(response), form
    assert _record(app, record["id"]).status == "pending"


def test_a_decision_without_the_csrf_token_is_refused(app, moderator_client, pending_photos):
    record, = pending_photos(1)
    response = moderator_client.post(f"/admin/reviews/{record['id']}", data={"decision": "approve"})
    assert response.status_code == 400
    assert _record(app, record["id"]).status == "pending"


def test_the_audit_log_lists_decisions_newest_first_a_page_at_a_time(app, admin_client, pending_photos):
    records = pending_photos(3)
    for record in records:
        _decide(admin_client, record["id"], decision="reject", reason=f"原因 {record['id']}")
    page = _text(admin_client.get("/admin/audit"))
    positions = [page.index(f"原因 {record['id']}") for record in records]
    assert positions == sorted(positions, reverse=True)
    with app.app_context():
        for _ in range(60):
            db.session.add(AuditEntry(staff_id=None, action="staff_login", details={"ip": "127.0.0.1"}))
        db.session.commit()
    first = _text(admin_client.get("/admin/audit"))
    assert 'href="/admin/audit?page=2"' in first and "原因" not in first
    second = _text(admin_client.get("/admin/audit?page=2"))
    assert all(f"原因 {record['id']}" in second for record in records)
    assert admin_client.get("/admin/audit?page=99").status_code == 200


def test_the_queue_pages_on_from_the_last_item_shown(moderator_client, pending_photos, monkeypatch):
    from app.admin import reviews

    monkeypatch.setattr(reviews, "QUEUE_PAGE", 2)
    first, second, third = pending_photos(3)
    page = _text(moderator_client.get("/admin/reviews"))
    assert [int(i) for i in re.findall(r'id="queue-(\d+)"', page)] == [first["id"], second["id"]]
    more = re.search(r'href="(/admin/reviews\?after=\d+)">下一页', page).group(1)
    rest = _text(moderator_client.get(more))
    assert [int(i) for i in re.findall(r'id="queue-(\d+)"', rest)] == [third["id"]]
    assert "下一页" not in rest and "回到最早" in rest


def test_the_admin_home_is_the_queue(moderator_client):
    response = moderator_client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/reviews"
