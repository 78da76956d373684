"""Activities: the nearest upcoming first, sign-ups within capacity, cancelling, and checking in once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ActivitySignup, LedgerEntry, LedgerReason
from app.services import activities
from app.services.activities import ActivityInput

PEOPLES_SQUARE = (31.2304, 121.4737)  # 人民广场, Shanghai


def make_activity(app, title="公园清洁", *, lat=31.2304, lng=121.4737, starts_in=timedelta(days=1),
                  hours=3, capacity=10, points="20.0") -> tuple[int, str]:
    """An activity made through the service, as the admin page makes it: (id, check-in code)."""
    starts = datetime.now(UTC) + starts_in
    with app.app_context():
        activity = activities.create_activity(ActivityInput(
            title=title, description="一起捡垃圾", lat=lat, lng=lng, address="上海市黄浦区人民大道",
            starts_at=starts, ends_at=starts + timedelta(hours=hours), capacity=capacity, points=Decimal(points)))
        return activity.id, activity.checkin_code


def listing(client, headers, query="?lat=31.2304&lng=121.4737"):
    response = client.get(f"/api/v1/activities{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def sign_up(client, headers, activity_id, **kwargs):
    return client.post(f"/api/v1/activities/{activity_id}/signups", headers=headers, **kwargs)


def check_in(client, headers, activity_id, code):
    return client.post(f"/api/v1/activities/{activity_id}/checkin", headers=headers, json={"code": code})


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def test_upcoming_activities_are_listed_nearest_first_with_their_distance(app, client, login):
    far, _ = make_activity(app, "崇明植树", lat=31.6230, lng=121.3970)
    near, _ = make_activity(app, "外滩捡跑", lat=31.2400, lng=121.4900, starts_in=timedelta(days=3))
    here, _ = make_activity(app, "人民广场旧衣回收", lat=31.2304, lng=121.4740, capacity=25, points="15.5")
    items = listing(client, login(), query="?lat=31.2304&lng=121.474")
    assert [a["id"] for a in items] == [here, near, far]
    assert items[0]["distance_km"] == 0
    assert Decimal(str(items[1]["distance_km"])) == Decimal("1.858")  # great-circle, 3 decimals
    assert 43 < items[2]["distance_km"] < 45
    first = items[0]
    assert (first["capacity"], first["signed_up"], first["spots_left"], first["joined"]) == (25, 0, 25, False)
    assert first["points"] == Decimal("15.5") and first["address"] == "上海市黄浦区人民大道"
    assert datetime.fromisoformat(first["ends_at"]) > datetime.fromisoformat(first["starts_at"])


def test_activity_coordinates_keep_metre_precision(app, client, login):
    make_activity(app, lat=31.230412, lng=121.473701)
    item, = listing(client, login(), query="?lat=31.230412&lng=121.473701")
    assert (item["lat"], item["lng"], item["distance_km"]) == (31.230412, 121.473701, 0)


def test_cancelled_and_finished_activities_are_not_listed(app, client, login):
    cancelled, _ = make_activity(app, "已取消")
    make_activity(app, "已结束", starts_in=-timedelta(hours=5), hours=2)
    ongoing, _ = make_activity(app, "进行中", starts_in=-timedelta(hours=1), hours=3)
    with app.app_context():
        activities.cancel_activity(cancelled)
    assert [a["id"] for a in listing(client, login())] == [ongoing]


def test_without_a_position_the_list_is_soonest_first(app, client, login):
    later, _ = make_activity(app, "后", starts_in=timedelta(days=2))
    sooner, _ = make_activity(app, "先", starts_in=timedelta(days=1), lat=40.0, lng=116.4)
    items = listing(client, login(), query="")
    assert [a["id"] for a in items] == [sooner, later] and items[0]["distance_km"] is None


def test_the_list_is_paged(app, client, login):
    ids = [make_activity(app, f"活动{i}", lat=31.2304 + i / 100)[0] for i in range(5)]
    headers = login()
    first = client.get("/api/v1/activities?lat=31.2304&lng=121.4737&limit=3", headers=headers).get_json()
    rest = client.get(f"/api/v1/activities?lat=31.2304&lng=121.4737&limit=3&cursor={first['next_cursor']}",
                      headers=headers).get_json()
    assert [a["id"] for a in first["items"] + rest["items"]] == ids and rest["next_cursor"] is None


@pytest.mark.parametrize("query", ["?lat=31.2", "?lng=121.4", "?lat=91&lng=0", "?lat=0&lng=-180.5",
                                   "?lat=abc&lng=1", "?lat=nan&lng=1", "?lat=inf&lng=1", "?lat=1&lng=2&limit=500"])
def test_a_bad_position_is_422(client, login, query):
    response = client.get(f"/api/v1/activities{query}", headers=login())
    assert response.status_code == 422 and error_code(response) == "validation_error"


def test_activities_need_a_login(app, client):
    activity_id, _ = make_activity(app)
    assert client.get("/api/v1/activities").status_code == 401
    assert sign_up(client, {}, activity_id).status_code == 401
    assert client.delete(f"/api/v1/activities/{activity_id}/signups").status_code == 401


def test_signing_up_takes_a_spot_and_marks_the_activity_joined(app, client, login):
    activity_id, _ = make_activity(app, capacity=3)
    headers = login()
    response = sign_up(client, headers, activity_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["activity_id"] == activity_id and body["checked_in_at"] is None
    assert (body["activity"]["signed_up"], body["activity"]["spots_left"], body["activity"]["joined"]) == (1, 2, True)
    mine, = listing(client, headers)
    assert (mine["signed_up"], mine["spots_left"], mine["joined"]) == (1, 2, True)
    other, = listing(client, login("bob"))
    assert other["joined"] is False
    assert client.get(f"/api/v1/activities/{activity_id}", headers=headers).get_json()["joined"] is True


def test_signing_up_twice_is_a_duplicate(app, client, login):
    activity_id, _ = make_activity(app)
    headers = login()
    assert sign_up(client, headers, activity_id).status_code == 201
    again = sign_up(client, headers, activity_id)
    assert again.status_code == 409 and error_code(again) == "duplicate_record"
    assert listing(client, headers)[0]["signed_up"] == 1


def test_a_full_activity_refuses_more_sign_ups(app, client, login):
    activity_id, _ = make_activity(app, capacity=2)
    assert sign_up(client, login("a"), activity_id).status_code == 201
    assert sign_up(client, login("b"), activity_id).status_code == 201
    full = sign_up(client, login("c"), activity_id)
    assert full.status_code == 409 and error_code(full) == "activity_full"
    assert listing(client, login("c"))[0]["spots_left"] == 0


def test_sign_ups_close_when_the_activity_starts_or_is_cancelled(app, client, login):
    started, _ = make_activity(app, starts_in=-timedelta(minutes=5))
    cancelled, _ = make_activity(app)
    with app.app_context():
        activities.cancel_activity(cancelled)
    headers = login()
    for activity_id in (started, cancelled):
        response = sign_up(client, headers, activity_id)
        assert response.status_code == 409 and error_code(response) == "activity_closed"
    assert sign_up(client, headers, 999999).status_code == 404


def test_cancelling_frees_the_spot_and_signing_up_again_reuses_the_row(app, client, login):
    activity_id, _ = make_activity(app, capacity=1)
    headers = login()
    first = sign_up(client, headers, activity_id).get_json()
    cancelled = client.delete(f"/api/v1/activities/{activity_id}/signups", headers=headers)
    assert cancelled.status_code == 204 and cancelled.data == b""
    assert listing(client, headers)[0]["spots_left"] == 1
    again = client.delete(f"/api/v1/activities/{activity_id}/signups", headers=headers)
    assert again.status_code == 404 and error_code(again) == "not_found"
    second = sign_up(client, headers, activity_id)
    assert second.status_code == 201 and second.get_json()["id"] == first["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ActivitySignup)) == 1
        assert db.session.get(Activity, activity_id).signed_up == 1


def test_cancelling_without_having_signed_up_is_404(app, client, login):
    activity_id, _ = make_activity(app)
    response = client.delete(f"/api/v1/activities/{activity_id}/signups", headers=login())
    assert response.status_code == 404
    assert client.delete("/api/v1/activities/999999/signups", headers=login()).status_code == 404


def test_a_retried_sign_up_with_its_idempotency_key_is_answered_again(app, client, login):
    activity_id, _ = make_activity(app)
    headers = {**login(), "Idempotency-Key": "signup-1"}
    first = sign_up(client, headers, activity_id)
    replay = sign_up(client, headers, activity_id)
    assert first.status_code == replay.status_code == 201 and first.data == replay.data
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert listing(client, headers)[0]["signed_up"] == 1


# -- check-in --

def attendance_entries(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(LedgerEntry.user_id, LedgerEntry.points, LedgerEntry.signup_id)
                                  .where(LedgerEntry.reason == LedgerReason.ACTIVITY_ATTENDANCE)).all()


def test_checking_in_with_the_code_credits_the_points_once(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30), points="20.0")
    headers = login()
    signup = sign_up(client, headers, activity_id).get_json()
    response = check_in(client, headers, activity_id, f" {code.lower()[:3]} {code.lower()[3:]} ")  # as typed
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["points"] == Decimal("20.0") and response.get_json()["checked_in_at"]
    again = check_in(client, headers, activity_id, code)
    assert again.status_code == 409 and error_code(again) == "duplicate_record"
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["account"]["balance_points"] == Decimal("20.0")
    assert attendance_entries(app) == [(me["user"]["id"], Decimal("20.0"), signup["id"])]
    assert listing(client, headers)[0]["checked_in"] is True


def test_a_wrong_code_credits_nothing(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30))
    headers = login()
    sign_up(client, headers, activity_id)
    wrong = "".join("A" if c != "A" else "B" for c in code)
    response = check_in(client, headers, activity_id, wrong)
    assert response.status_code == 422 and error_code(response) == "invalid_checkin_code"
    assert attendance_entries(app) == []


def test_check_in_is_only_open_around_the_event(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(hours=5))
    headers = login()
    sign_up(client, headers, activity_id)
    response = check_in(client, headers, activity_id, code)
    assert response.status_code == 409 and error_code(response) == "checkin_closed"
    assert "opens_at" in response.get_json()["error"]["details"]


def test_only_signed_up_users_may_check_in(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30))
    response = check_in(client, login(), activity_id, code)
    assert response.status_code == 404
    missing = check_in(client, login(), activity_id, None)
    assert missing.status_code == 422


def test_after_checking_in_the_sign_up_cannot_be_cancelled(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30))
    headers = login()
    sign_up(client, headers, activity_id)
    assert check_in(client, headers, activity_id, code).status_code == 201
    response = client.delete(f"/api/v1/activities/{activity_id}/signups", headers=headers)
    assert response.status_code == 409 and error_code(response) == "already_checked_in"


def test_an_activity_without_points_records_attendance_but_books_nothing(app, client, login):
    activity_id, code = make_activity(app, starts_in=timedelta(minutes=30), points="0")
    headers = login()
    sign_up(client, headers, activity_id)
    response = check_in(client, headers, activity_id, code)
    assert response.status_code == 201 and response.get_json()["points"] == 0
    assert attendance_entries(app) == []
