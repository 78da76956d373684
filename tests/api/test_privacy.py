"""PIPL rights: GET /me/export holds everything about the caller and nothing else; DELETE /me erases the
person but not the public totals; photo files of decided records are erased after their retention."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity, ActivitySignup, AuthToken, Consent, Friendship, IdempotencyKey, LedgerEntry, PeriodPoints, Photo,
    PhotoHash, Record, Redemption, Trip, User,
)
from app.services import activities, moderation, photos, rewards, stats
from app.services import staff as staff_service
from app.services.activities import ActivityInput
from tests import tracks
from tests.admin.factories import PASSWORD, jpeg, log_in
from tests.api.test_bedtimes import last_night


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def created(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def upload(client, headers, seed: int, kind: str, **fields) -> dict:
    return created(client.post("/api/v1/photos", headers=headers, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(jpeg(seed)), "photo.jpg"), "kind": kind, **fields}))


def user_id(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["user"]["id"]


def stored_files(app) -> list[str]:
    return [f for _, _, files in os.walk(app.config["UPLOAD_DIR"]) for f in files]


@pytest.fixture
def moderator_id(app) -> int:
    with app.app_context():
        return staff_service.create_staff("mod-privacy", PASSWORD, "moderator").id


def decide(app, staff_id: int, record_id: int, decision: str = "approve") -> None:
    with app.app_context():
        moderation.decide(record_id, staff_id, decision, "照片模糊，无法辨认" if decision == "reject" else None, None)


def make_reward(app, cost: str = "5.0") -> int:
    with app.app_context():
        start = datetime.now(UTC) - timedelta(days=1)
        return rewards.create_reward(rewards.RewardDraft(
            title="地铁优惠券", description="满 10 元减 2 元", cost_points=Decimal(cost), stock_total=5,
            valid_from=start, valid_until=start + timedelta(days=30), active=True)).id


def make_activity(app, capacity: int = 5) -> tuple[int, str, datetime]:
    starts = datetime.now(UTC) + timedelta(days=1)
    with app.app_context():
        activity = activities.create_activity(ActivityInput(
            title="公园清洁", description="一起捡垃圾", lat=31.2304, lng=121.4737, address="上海市黄浦区人民大道",
            starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=capacity, points=Decimal("10.0")))
        return activity.id, activity.checkin_code, starts


def make_a_full_life(client, login, app, moderator_id, name: str, seed: int) -> dict:
    """A user who has done everything the mini program offers: every kind of record (credited, pending,
    rejected), a redemption, a friend, activity sign-ups (one attended), an idempotent retry."""
    headers = login(name)
    uid = user_id(client, headers)
    trip = created(client.post("/api/v1/trips", headers={**headers, "Idempotency-Key": f"trip-{name}"},
                               json={"mode": "bike", "track": tracks.realistic_track(
                                   "bike", km=5.0, start=hours_ago(3 + seed), seed=seed)}))
    bedtime = created(client.post("/api/v1/bedtimes", headers=headers,
                                  json={"night": last_night(), "bedtime": "22:00"}))
    sorting = upload(client, headers, seed * 10 + 1, "sorting")
    recycling = upload(client, headers, seed * 10 + 2, "recycling", material="paper", weight_kg="1.5")
    meal = upload(client, headers, seed * 10 + 3, "meal", meal="lunch", date=last_night())
    decide(app, moderator_id, sorting["id"])
    decide(app, moderator_id, recycling["id"], "reject")  # meal stays pending
    redemption = created(client.post(f"/api/v1/rewards/{make_reward(app)}/redemptions", headers=headers))
    code = created(client.post("/api/v1/friends/invites", headers=headers))["code"]
    friend_headers = login(f"{name}-friend")
    created(client.post("/api/v1/friends", headers=friend_headers, json={"code": code}))
    open_activity, _, _ = make_activity(app)
    created(client.post(f"/api/v1/activities/{open_activity}/signups", headers=headers))
    attended, checkin_code, starts = make_activity(app)
    created(client.post(f"/api/v1/activities/{attended}/signups", headers=headers))
    with app.app_context():
        activities.check_in_with_code(uid, attended, checkin_code, now=starts + timedelta(minutes=5))
    return {"headers": headers, "id": uid, "friend_headers": friend_headers,
            "records": {r["id"]: r for r in (trip, bedtime, sorting, recycling, meal)},
            "redemption": redemption, "open_activity": open_activity, "attended_activity": attended}


@pytest.fixture
def ann(client, login, app, moderator_id) -> dict:
    return make_a_full_life(client, login, app, moderator_id, "ann", seed=1)


@pytest.fixture
def ben(client, login, app, moderator_id) -> dict:
    return make_a_full_life(client, login, app, moderator_id, "ben", seed=2)


def export(client, headers) -> dict:
    response = client.get("/api/v1/me/export", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "private, no-store"
    return response.get_json()


# -- export -------------------------------------------------------------------------------------------------

def test_the_export_holds_every_record_of_every_kind_and_nothing_of_another_user(client, app, ann, ben):
    data = export(client, ann["headers"])
    records = {r["id"]: r for r in data["records"]}
    assert set(records) == set(ann["records"])
    assert {r["kind"] for r in records.values()} == {"travel", "bedtime", "sorting", "recycling", "meal"}
    assert {r["status"] for r in records.values()} == {"credited", "pending", "rejected"}
    for record_id, seen in ann["records"].items():
        mine = records[record_id]
        assert (mine["co2_g"], mine["points"], mine["kind"]) == (seen["co2_g"], seen["points"], seen["kind"])
        assert mine["factor"]["grams_per_unit"] == seen["factor"]["grams_per_unit"] and mine["quantity"] > 0
    trip = next(r for r in records.values() if r["kind"] == "travel")["trip"]
    assert len(trip["track"]) == trip["point_count"] > 10 and {"lat", "lng", "t"} <= set(trip["track"][0])
    assert next(r for r in records.values() if r["kind"] == "recycling")["reject_reason"] == "照片模糊，无法辨认"
    assert next(r for r in records.values() if r["kind"] == "bedtime")["data"]["bedtime"] == "22:00"
    # Photos: metadata and the owner's image URL, which serves the image.
    assert len(data["photos"]) == 3
    for photo in data["photos"]:
        assert photo["record_id"] in records and records[photo["record_id"]]["photo_id"] == photo["id"]
        assert client.get(photo["image_url"], headers=ann["headers"]).status_code == 200
    # Points, the coupon, the friend, the sign-ups, the consent, the sessions.
    assert sum(Decimal(str(e["points"])) for e in data["ledger"]) == Decimal(str(data["account"]["balance_points"]))
    assert {e["reason"] for e in data["ledger"]} == {"record_credit", "redemption", "activity_attendance"}
    assert [r["coupon_code"] for r in data["redemptions"]] == [ann["redemption"]["coupon_code"]]
    assert [f["nickname"] for f in data["friends"]] == [None] and len(data["friend_invites"]) == 1
    assert {s["activity_id"] for s in data["activity_signups"]} == {ann["open_activity"], ann["attended_activity"]}
    assert data["consent"]["privacy_version"] == app.config["PRIVACY_POLICY_VERSION"]
    assert [c["version"] for c in data["consent"]["history"]] == [app.config["PRIVACY_POLICY_VERSION"]]
    assert data["user"]["wechat_openid"] == "dev_ann" and data["idempotency_keys"][0]["key"] == "trip-ann"
    assert len(data["sessions"]) == 1 and set(data["sessions"][0]) == {"id", "created_at", "expires_at", "revoked_at"}
    assert datetime.fromisoformat(data["generated_at"]) > hours_ago(0.1)
    # Never a secret, never anyone else's data.
    text = json.dumps(data, ensure_ascii=False)
    assert ann["headers"]["Authorization"].split()[1] not in text and "session_key" not in text
    assert not set(ben["records"]) & set(records)
    assert "dev_ben" not in text and ben["redemption"]["coupon_code"] not in text
    assert str(ben["id"]) not in {str(f["user_id"]) for f in data["friends"]}


def test_the_export_needs_a_login(client):
    response = client.get("/api/v1/me/export")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


# -- deletion -----------------------------------------------------------------------------------------------

def public_stats(client, app) -> dict:
    with app.app_context():
        stats.clear_public_stats_cache()
    figures = client.get("/api/v1/stats").get_json()
    figures.pop("generated_at")
    return figures


def test_deleting_the_account_leaves_the_public_totals_unchanged(client, app, ann, ben):
    before = public_stats(client, app)
    assert before["participants"] == 2 and before["co2_g_total"] > 0
    assert client.delete("/api/v1/me", headers=ann["headers"]).status_code == 204
    assert public_stats(client, app) == before


def test_deletion_erases_the_person_and_keeps_their_ledger_anonymised(client, app, ann, ben):
    with app.app_context():
        ledger_before = db.session.scalars(sa.select(LedgerEntry.id).where(LedgerEntry.user_id == ann["id"])).all()
        open_spots = db.session.get(Activity, ann["open_activity"]).signed_up
    ann_files = len(stored_files(app)) - 3  # three are Ben's
    assert ann_files == 3

    response = client.delete("/api/v1/me", headers=ann["headers"])
    assert response.status_code == 204 and response.data == b""

    again = client.get("/api/v1/me", headers=ann["headers"])
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/me/export", headers=ann["headers"]).status_code == 401
    assert len(stored_files(app)) == 3  # only Ben's photos are left on disk
    assert client.get("/api/v1/friends", headers=ann["friend_headers"]).get_json()["items"] == []
    with app.app_context():
        user = db.session.get(User, ann["id"])
        assert (user.openid, user.unionid, user.session_key, user.nickname, user.avatar_url, user.city) == (None,) * 6
        assert user.deleted_at is not None
        uid = ann["id"]
        for model, owner in ((AuthToken, AuthToken.user_id), (Consent, Consent.user_id),
                             (IdempotencyKey, IdempotencyKey.user_id), (PeriodPoints, PeriodPoints.user_id),
                             (Friendship, Friendship.user_id), (Friendship, Friendship.friend_id)):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(owner == uid)) == 0, model
        photos = db.session.scalars(sa.select(Photo).where(Photo.user_id == uid)).all()
        assert [p.storage_key for p in photos] == [None] * 3 and all(p.erased_at for p in photos)
        trip = db.session.scalar(sa.select(Trip).where(Trip.user_id == uid))
        assert (trip.track, trip.shape, trip.start_cell) == (None, None, "") and trip.distance_km > 0
        # The spot of the open sign-up is given back; the attendance that earned points stays for the ledger.
        assert db.session.get(Activity, ann["open_activity"]).signed_up == open_spots - 1
        kept = db.session.scalars(sa.select(ActivitySignup).where(ActivitySignup.user_id == uid)).all()
        assert [s.activity_id for s in kept] == [ann["attended_activity"]]
        # Ledger rows, records and the redemption stay (linked to the emptied user row).
        assert db.session.scalars(sa.select(LedgerEntry.id).where(LedgerEntry.user_id == uid)).all() == ledger_before
        assert db.session.scalar(sa.select(Redemption.coupon_code).where(Redemption.user_id == uid)) \
            == ann["redemption"]["coupon_code"]
        assert db.session.scalar(sa.select(sa.func.count(Record.id)).where(Record.user_id == uid)) == 5
        # The pending meal left the review queue; Ben's pending meal is still there.
        meal = db.session.scalar(sa.select(Record).where(Record.user_id == uid, Record.kind == "meal"))
        assert (meal.status, meal.reject_reason) == ("rejected", "用户已注销账户")
        assert {r.user_id for r in moderation.review_queue().items} == {ben["id"]}
    # Ben's data is untouched.
    assert len(export(client, ben["headers"])["records"]) == 5


def test_the_same_wechat_user_logging_in_again_gets_a_new_empty_account(client, login, ann):
    assert client.delete("/api/v1/me", headers=ann["headers"]).status_code == 204
    response = client.post("/api/v1/auth/login", json={"code": "dev:ann", "privacy_version": "2026-11-01"})
    assert response.status_code == 200 and response.get_json()["is_new"] is True
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    assert response.get_json()["user"]["id"] != ann["id"]
    assert client.get("/api/v1/records", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 0
    assert export(client, headers)["redemptions"] == []


def test_a_deleted_users_photo_cannot_be_uploaded_again_by_someone_else(client, login, app, moderator_id):
    """The photo's fingerprints outlive the account (documented on /privacy): no points for reusing it."""
    headers = login("cai")
    upload(client, headers, 77, "sorting")
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PhotoHash.id))) > 0
    again = client.post("/api/v1/photos", headers=login("dan"), content_type="multipart/form-data",
                        data={"file": (io.BytesIO(jpeg(77)), "photo.jpg"), "kind": "sorting"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_photo"


def test_the_privacy_page_tells_users_their_rights_and_what_is_kept(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "/api/v1/me/export" in page and "注销" in page and "指纹" in page and "180" in page


# -- retention ----------------------------------------------------------------------------------------------

def decided_days_ago(app, record_id: int, days: int) -> None:
    with app.app_context():
        db.session.execute(sa.update(Record).where(Record.id == record_id)
                           .values(decided_at=datetime.now(UTC) - timedelta(days=days)))
        db.session.commit()


def test_purge_erases_photo_files_of_records_decided_past_the_retention(client, login, app, moderator_id):
    headers = login("eve")
    old_credit, old_reject, recent, pending = (upload(client, headers, 40 + i, "sorting" if i < 3 else "recycling",
                                                      **({"material": "paper", "weight_kg": "2"} if i == 3 else {}))
                                               for i in range(4))
    decide(app, moderator_id, old_credit["id"])
    decide(app, moderator_id, old_reject["id"], "reject")
    decide(app, moderator_id, recent["id"])
    decided_days_ago(app, old_credit["id"], 181)
    decided_days_ago(app, old_reject["id"], 200)
    decided_days_ago(app, recent["id"], 179)

    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "photo files past retention erased: 2" in result.output, result.output
    assert len(stored_files(app)) == 2

    for gone in (old_credit, old_reject):
        image = client.get(gone["photo"]["image_url"], headers=headers)
        assert image.status_code == 404 and image.get_json()["error"]["code"] == "not_found"
    for kept in (recent, pending):
        assert client.get(kept["photo"]["image_url"], headers=headers).status_code == 200
    # The record, its points and the fingerprints stay.
    records = {r["id"]: r for r in client.get("/api/v1/records", headers=headers).get_json()["items"]}
    assert records[old_credit["id"]]["status"] == "credited" and records[old_credit["id"]]["points"] == 6.8
    photos = {p["record_id"]: p for p in export(client, headers)["photos"]}
    assert photos[old_credit["id"]]["image_url"] is None and photos[old_credit["id"]]["erased_at"]
    copy = client.post("/api/v1/photos", headers=login("fay"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(jpeg(40)), "photo.jpg"), "kind": "sorting"})
    assert copy.status_code == 409 and copy.get_json()["error"]["code"] == "duplicate_photo"
    # The moderators' page of an erased photo still opens, saying so; the photo URL is a 404.
    staff = app.test_client()
    assert log_in(staff, "mod-privacy").status_code == 302
    page = staff.get(f"/admin/reviews/{old_credit['id']}")
    assert page.status_code == 200 and "照片已删除" in page.get_data(as_text=True)
    photo_id = old_credit["photo"]["id"]
    assert staff.get(f"/admin/photos/{photo_id}").status_code == 404
    # A second purge has nothing left to erase.
    assert "photo files past retention erased: 0" in app.test_cli_runner().invoke(args=["purge"]).output


def test_retention_zero_keeps_photo_files_for_ever(client, login, app, moderator_id, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_RETENTION_DAYS", 0)
    headers = login("gus")
    record = upload(client, headers, 60, "sorting")
    decide(app, moderator_id, record["id"])
    decided_days_ago(app, record["id"], 3650)
    assert "photo files past retention erased: 0" in app.test_cli_runner().invoke(args=["purge"]).output
    assert client.get(record["photo"]["image_url"], headers=headers).status_code == 200


def test_an_upload_that_raced_the_deletion_loses_its_file_at_the_next_purge(client, login, app):
    headers = login("hal")
    uid = user_id(client, headers)
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    with app.app_context():  # an upload authenticated just before the deletion commits just after it
        photos.submit_photo(uid, jpeg(90), "sorting", {})
    assert len(stored_files(app)) == 1
    assert "photo files past retention erased: 1" in app.test_cli_runner().invoke(args=["purge"]).output
    assert stored_files(app) == []
