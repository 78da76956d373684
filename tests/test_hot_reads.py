"""GET /me and the leaderboard answered before Flask (app/hot_reads.py): the same answers as through Flask,
and every answer other than a success still made by Flask."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import request, request_started

from app import create_app
from tests.api.test_bedtimes import post_bedtime
from tests.api.test_friends import make_friends, me

READS = ["/api/v1/me", "/api/v1/leaderboard", "/api/v1/leaderboard?scope=all&limit=2",
         "/api/v1/leaderboard?period=week", "/api/v1/leaderboard?scope=&period=month",
         "/api/v1/leaderboard?scope=friends&unknown=1"]


def same_settings(app, **overrides):
    """Another app on the test app's database and WeChat."""
    return create_app("testing", {key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE", "WECHAT_APPID", "WECHAT_SECRET")} | overrides)


@pytest.fixture(scope="module")
def flask_only(app):
    """The same database and settings served with HOT_READS off: every request through Flask."""
    return same_settings(app, HOT_READS=False)


@contextmanager
def through_flask(app) -> Iterator[list[str]]:
    """The paths of the requests that went through Flask's request machinery meanwhile."""
    seen: list[str] = []

    def record(sender, **extra):
        seen.append(request.full_path.rstrip("?"))

    request_started.connect(record, app)
    try:
        yield seen
    finally:
        request_started.disconnect(record, app)


def test_answers_are_byte_for_byte_those_of_flask(app, client, flask_only, login):
    headers, friend_headers = login("hot"), login("hot-friend")
    make_friends(client, headers, friend_headers)
    post_bedtime(client, headers, "22:30")  # 3.9 points
    post_bedtime(client, friend_headers, "21:00")  # 15.5 points
    me_id, friend_id = me(client, headers)["id"], me(client, friend_headers)["id"]
    plain = flask_only.test_client()
    with through_flask(app) as seen:
        for path in READS:
            hot, slow = client.get(path, headers=headers), plain.get(path, headers=headers)
            assert hot.status_code == slow.status_code == 200, (path, hot.get_json(), slow.get_json())
            assert hot.get_data() == slow.get_data(), path
            assert {k: v for k, v in hot.headers.items() if k != "X-Request-ID"} == \
                   {k: v for k, v in slow.headers.items() if k != "X-Request-ID"}
    assert seen == []  # none of them went through Flask's request machinery
    board = client.get("/api/v1/leaderboard", headers=headers).get_json()
    assert [(e["user"]["id"], e["points"]) for e in board["items"]] == [(friend_id, 15.5), (me_id, 3.9)]
    assert board["me"] == {"rank": 2, "points": 3.9}


def test_refusals_are_flasks_envelopes(app, client, login):
    headers = login("refused")
    with through_flask(app) as seen:
        no_token = client.get("/api/v1/me")
        bad_token = client.get("/api/v1/leaderboard", headers={"Authorization": "Bearer " + "x" * 40})
        bad_scope = client.get("/api/v1/leaderboard?scope=everyone", headers=headers)
        too_many = client.get("/api/v1/leaderboard?scope=all&limit=1000", headers=headers)
        repeated = client.get("/api/v1/leaderboard?scope=all&scope=friends", headers=headers)
        head = client.head("/api/v1/me", headers=headers)
    assert no_token.status_code == bad_token.status_code == 401
    assert no_token.get_json()["error"]["code"] == bad_token.get_json()["error"]["code"] == "unauthorized"
    assert bad_scope.status_code == too_many.status_code == 422
    assert bad_scope.get_json()["error"]["code"] == "validation_error"
    assert repeated.status_code == 200 and head.status_code == 200
    assert seen == ["/api/v1/me", "/api/v1/leaderboard", "/api/v1/leaderboard?scope=everyone",
                    "/api/v1/leaderboard?scope=all&limit=1000", "/api/v1/leaderboard?scope=all&scope=friends",
                    "/api/v1/me"]


def test_a_request_hook_added_later_applies_to_them_through_flask(app, login):
    hooked = same_settings(app)

    @hooked.after_request
    def _stamp(response):
        response.headers["X-Served-By"] = "flask"
        return response

    headers = login("hooked")
    with through_flask(hooked) as seen:
        answer = hooked.test_client().get("/api/v1/me", headers=headers)
    assert answer.status_code == 200 and answer.headers["X-Served-By"] == "flask"
    assert seen == ["/api/v1/me"]


def test_a_signed_out_token_is_refused_at_once(client, login):
    headers = login("leaving")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/leaderboard", headers=headers).status_code == 401


def test_the_request_id_is_echoed_and_logged(app, client, login, caplog):
    headers = login("traced")
    with caplog.at_level("INFO", logger="app.access"):
        answer = client.get("/api/v1/me", headers={**headers, "X-Request-ID": "trace-me-0001"})
        fresh = client.get("/api/v1/leaderboard", headers=headers)
    assert answer.headers["X-Request-ID"] == "trace-me-0001"
    assert len(fresh.headers["X-Request-ID"]) == 32
    lines = [r for r in caplog.records if r.name == "app.access" and r.method == "GET"]
    assert [(r.path, r.status, r.user_id, r.request_id) for r in lines] == [
        ("/api/v1/me", 200, answer.get_json()["user"]["id"], "trace-me-0001"),
        ("/api/v1/leaderboard", 200, answer.get_json()["user"]["id"], fresh.headers["X-Request-ID"])]
