"""Moderation: approve credits in the same transaction, reject needs a reason, decided exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, LedgerEntry, Staff
from app.services import moderation
from tests.api.test_photos import CHELSEA, COFFEE, jpeg_bytes, upload


@pytest.fixture
def moderators(app):
    with app.app_context():
        staff = [Staff(username=name, password_hash="-", role="moderator") for name in ("mod1", "mod2")]
        db.session.add_all(staff)
        db.session.commit()
        return [s.id for s in staff]


def decide(app, record_id, staff_id, decision, reason=None, weight_kg=None):
    with app.app_context():
        return moderation.decide(record_id, staff_id, decision, reason, weight_kg)


def test_approval_credits_the_points_and_the_user_sees_it(app, client, login, moderators):
    headers = login()
    record = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    decide(app, record["id"], moderators[0], "approve")
    seen = client.get("/api/v1/records", headers=headers).get_json()["items"][0]
    assert seen["status"] == "credited" and seen["points"] == 6.8
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 6.8
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditEntry))
        assert (audit.action, audit.staff_id, audit.record_id) == ("record_approve", moderators[0], record["id"])


def test_rejection_needs_a_reason_and_the_user_sees_it(app, client, login, moderators):
    headers = login()
    record = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    with pytest.raises(ValidationFailed):
        decide(app, record["id"], moderators[0], "reject", reason="  ")
    decide(app, record["id"], moderators[0], "reject", reason="照片中看不到分类标签")
    seen = client.get("/api/v1/records", headers=headers).get_json()["items"][0]
    assert seen["status"] == "rejected" and seen["reject_reason"] == "照片中看不到分类标签"
    assert client.get("/api/v1/ledger", headers=headers).get_json()["items"] == []


def test_a_rejected_meal_frees_its_slot(app, client, login, moderators):
    from tests.api.test_photos import _today
    headers = login()
    day = _today().date().isoformat()
    record = upload(client, headers, jpeg_bytes(COFFEE), kind="meal", meal="dinner", date=day).get_json()
    decide(app, record["id"], moderators[0], "reject", reason="外卖包装")
    assert upload(client, headers, jpeg_bytes(CHELSEA), kind="meal", meal="dinner", date=day).status_code == 201


def test_a_moderator_corrects_the_recycling_weight_before_crediting(app, client, login, moderators):
    headers = login()
    record = upload(client, headers, jpeg_bytes(COFFEE), kind="recycling", material="paper", weight_kg="4").get_json()
    assert record["co2_g"] == 21680
    decide(app, record["id"], moderators[0], "approve", weight_kg="1.5")
    seen = client.get("/api/v1/records", headers=headers).get_json()["items"][0]
    assert (seen["weight_kg"], seen["co2_g"], seen["points"]) == (1.5, 8130, 813)
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 813


def test_a_weight_on_a_non_recycling_record_is_refused(app, client, login, moderators):
    record = upload(client, login(), jpeg_bytes(COFFEE)).get_json()
    with pytest.raises(ValidationFailed):
        decide(app, record["id"], moderators[0], "approve", weight_kg="2")


def test_a_record_is_decided_once(app, client, login, moderators):
    record = upload(client, login(), jpeg_bytes(COFFEE)).get_json()
    decide(app, record["id"], moderators[0], "approve")
    with pytest.raises(moderation.AlreadyDecided):
        decide(app, record["id"], moderators[1], "reject", reason="late")


def test_two_moderators_approving_at_the_same_moment_credit_once(app, client, login, moderators):
    record = upload(client, login(), jpeg_bytes(COFFEE)).get_json()
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(staff_id):
        barrier.wait()
        try:
            decide(app, record["id"], staff_id, "approve")
            outcomes.append("credited")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=approve, args=(s,)) for s in moderators]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert Counter(outcomes) == Counter({"credited": 1, "already_decided": 1})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1


def test_the_queue_is_oldest_first_with_counts(app, client, login, moderators):
    headers = login()
    first = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    second = upload(client, headers, jpeg_bytes(CHELSEA)).get_json()
    with app.app_context():
        queue = moderation.review_queue()
        assert [r.id for r in queue.items] == [first["id"], second["id"]]
        assert (queue.pending, queue.suspected) == (2, 0)
    decide(app, first["id"], moderators[0], "approve")
    with app.app_context():
        assert [r.id for r in moderation.review_queue().items] == [second["id"]]


def test_the_user_gets_a_subscribe_message_when_wechat_is_configured(app, client, fake_wechat, moderators):
    code = fake_wechat.issue_code("openid-notified")
    login_body = client.post("/api/v1/auth/login", json={
        "code": code, "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()
    headers = {"Authorization": f"Bearer {login_body['token']}"}
    record = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    app.config["WECHAT_REVIEW_TEMPLATE_ID"] = "tmpl-review"
    try:
        before = len(fake_wechat.messages)
        decide(app, record["id"], moderators[0], "approve")
    finally:
        app.config["WECHAT_REVIEW_TEMPLATE_ID"] = None
    message = fake_wechat.messages[before]
    assert message["touser"] == "openid-notified" and message["template_id"] == "tmpl-review"
    assert message["data"]["phrase2"]["value"] == "审核通过"


def test_amounts_use_decimal_not_float(app, client, login, moderators):
    record = upload(client, login(), jpeg_bytes(COFFEE), kind="recycling", material="textile",
                    weight_kg="0.333").get_json()
    with app.app_context():
        decided = moderation.decide(record["id"], moderators[0], "approve", None, None)
        assert decided.co2_g == Decimal("1198.80") and decided.points == Decimal("119.9")
