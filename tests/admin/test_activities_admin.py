"""Admin pages for activities: create and edit with validation, the check-in code, manual check-in, cancelling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, AuditEntry, LedgerEntry, LedgerReason
from app.services.activities import CHECKIN_CODE_ALPHABET
from tests.admin.factories import csrf_token, dev_login

PAGES = ["/admin/activities", "/admin/activities/new", "/admin/activities/1", "/admin/activities/1/edit"]
POSTS = ["/admin/activities/new", "/admin/activities/1/edit", "/admin/activities/1/cancel",
         "/admin/activities/1/signups/1/checkin"]
SHANGHAI = 8  # hours ahead of UTC


def _text(response) -> str:
    return response.get_data(as_text=True)


def _local(moment: datetime) -> str:
    return (moment + timedelta(hours=SHANGHAI)).strftime("%Y-%m-%dT%H:%M")


def _form(**overrides) -> dict:
    starts = datetime.now(UTC) + timedelta(days=2)
    return {"title": "世纪公园清洁", "description": "自带手套", "address": "上海市浦东新区锦绣路 1001 号",
            "lat": "31.2165", "lng": "121.5510", "starts_at": _local(starts),
            "ends_at": _local(starts + timedelta(hours=3)), "capacity": "30", "points": "25.5", **overrides}


def _post(client, url="/admin/activities/new", **overrides):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **_form(**overrides)})


def _only_activity(app) -> Activity:
    with app.app_context():
        activity = db.session.scalars(sa.select(Activity)).one()
        db.session.expunge(activity)
        return activity


@pytest.mark.parametrize("path", PAGES)
def test_moderators_may_not_manage_activities(moderator_client, path):
    assert moderator_client.get(path).status_code == 403


@pytest.mark.parametrize("path", POSTS)
def test_moderators_may_not_post_activity_forms(moderator_client, path):
    token = csrf_token(moderator_client, "/admin/reviews")
    assert moderator_client.post(path, data={"csrf_token": token, **_form()}).status_code == 403


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_the_csrf_token_are_refused(app, admin_client, path):
    response = admin_client.post(path, data=_form())
    assert response.status_code == 400 and "CSRF" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_an_admin_creates_an_activity_and_users_find_it(app, admin_client, client):
    response = _post(admin_client)
    activity = _only_activity(app)
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/activities/{activity.id}"
    page = _text(admin_client.get(response.headers["Location"]))
    code = re.search(r'id="checkin-code">(\w+)<', page).group(1)
    assert code == activity.checkin_code and len(code) == 6 and set(code) <= set(CHECKIN_CODE_ALPHABET)
    assert "世纪公园清洁" in page and "0 / 30" in page
    assert (activity.capacity, activity.points, activity.lat) == (30, Decimal("25.5"), 31.2165)
    assert _form()["starts_at"][:13] == _local(activity.starts_at)[:13]  # typed in Beijing time
    items = client.get("/api/v1/activities?lat=31.2304&lng=121.4737",
                       headers=dev_login(client, app, "finder")).get_json()["items"]
    assert [(a["id"], a["points"], a["capacity"]) for a in items] == [(activity.id, 25.5, 30)]
    assert f'id="activity-{activity.id}"' in _text(admin_client.get("/admin/activities"))
    assert 'href="/admin/activities"' in _text(admin_client.get("/admin/reviews"))


def test_each_activity_gets_its_own_code(app, admin_client):
    _post(admin_client)
    _post(admin_client, title="旧衣捐赠")
    with app.app_context():
        codes = db.session.scalars(sa.select(Activity.checkin_code)).all()
    assert len(set(codes)) == 2


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "请输入标题"),
    ({"address": ""}, "请输入地址"),
    ({"lat": "91"}, "纬度须在 -90 到 90 之间"),
    ({"lng": "181"}, "经度须在 -180 到 180 之间"),
    ({"lat": "nan"}, "纬度须在 -90 到 90 之间"),
    ({"lat": "north"}, "请输入数字"),
    ({"capacity": "0"}, "名额须为 1–100000"),
    ({"capacity": "ten"}, "请输入整数"),
    ({"points": "1.25"}, "积分须为 0–10000，至多一位小数"),
    ({"points": "-5"}, "积分须为 0–10000，至多一位小数"),
    ({"points": "Infinity"}, "积分须为 0–10000，至多一位小数"),
    ({"starts_at": "tomorrow"}, "请输入有效的日期和时间"),
    ({"ends_at": _local(datetime.now(UTC))}, "结束时间须晚于开始时间"),
])
def test_invalid_activities_are_shown_again_with_the_reason(app, admin_client, overrides, message):
    response = _post(admin_client, **overrides)
    assert response.status_code == 422 and message in _text(response), _text(response)
    assert "is-invalid" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_the_capacity_cannot_drop_below_the_sign_ups(app, admin_client, client):
    _post(admin_client, capacity="3")
    activity = _only_activity(app)
    for name in ("ann", "bo"):
        assert client.post(f"/api/v1/activities/{activity.id}/signups",
                           headers=dev_login(client, app, name)).status_code == 201
    url = f"/admin/activities/{activity.id}/edit"
    assert 'value="3"' in _text(admin_client.get(url))
    refused = _post(admin_client, url=url, capacity="1")
    assert refused.status_code == 422 and "名额不能少于已报名人数（2）" in _text(refused)
    assert _post(admin_client, url=url, capacity="2", title="改名").status_code == 302
    edited = _only_activity(app)
    assert (edited.capacity, edited.signed_up, edited.title) == (2, 2, "改名")


def test_staff_check_attendees_in_and_the_points_are_credited_once(app, admin_client, client):
    _post(admin_client, points="20")
    activity = _only_activity(app)
    headers = dev_login(client, app, "attendee")
    signup = client.post(f"/api/v1/activities/{activity.id}/signups", headers=headers).get_json()
    page = _text(admin_client.get(f"/admin/activities/{activity.id}"))
    assert f'id="signup-{signup["id"]}"' in page and "未签到" in page
    url = f"/admin/activities/{activity.id}/signups/{signup['id']}/checkin"
    token = csrf_token(admin_client, f"/admin/activities/{activity.id}")
    first = admin_client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "已签到，发放 20.0 积分" in _text(first)
    second = admin_client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "已经签到过" in _text(second)
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 20
    with app.app_context():
        entries = db.session.execute(sa.select(LedgerEntry.points, LedgerEntry.signup_id).where(
            LedgerEntry.reason == LedgerReason.ACTIVITY_ATTENDANCE)).all()
        assert entries == [(Decimal("20.0"), signup["id"])]
        assert "activity_checkin" in db.session.scalars(sa.select(AuditEntry.action)).all()
    assert admin_client.post(f"/admin/activities/{activity.id}/signups/999999/checkin",
                             data={"csrf_token": token}).status_code == 404


def test_cancelling_an_activity_takes_it_off_the_list(app, admin_client, client):
    _post(admin_client)
    activity = _only_activity(app)
    token = csrf_token(admin_client, f"/admin/activities/{activity.id}")
    response = admin_client.post(f"/admin/activities/{activity.id}/cancel", data={"csrf_token": token},
                                 follow_redirects=True)
    assert "活动已取消" in _text(response) and "已取消" in _text(admin_client.get("/admin/activities"))
    items = client.get("/api/v1/activities", headers=dev_login(client, app, "late")).get_json()["items"]
    assert items == []
    assert admin_client.post("/admin/activities/999999/cancel", data={"csrf_token": token}).status_code == 404


def test_unknown_activities_are_404(admin_client):
    assert admin_client.get("/admin/activities/999999").status_code == 404
    assert admin_client.get("/admin/activities/999999/edit").status_code == 404
