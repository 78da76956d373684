"""Staff login: the form with its CSRF token, one message for every failure, throttling, safe redirects."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import LoginAttempt, Staff, StaffSession
from app.models.types import utcnow
from tests.admin.factories import PASSWORD, create_staff, csrf_token, log_in

WRONG = "not the password at all"


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_login_opens_a_server_side_session_that_stores_only_the_tokens_hash(app, client, moderator):
    response = log_in(client, moderator)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    with client.session_transaction() as cookie_session:
        token = cookie_session["_user_id"]
    with app.app_context():
        row = db.session.scalar(sa.select(StaffSession))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert row.revoked_at is None and row.expires_at > utcnow() and row.ip == "127.0.0.1"
    queue = client.get("/admin/reviews")
    assert queue.status_code == 200 and moderator in _text(queue)


def test_session_cookie_is_httponly_and_samesite_lax(client, moderator):
    cookie = log_in(client, moderator).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_name_and_wrong_password_get_the_same_answer(client, moderator):
    unknown, wrong = log_in(client, "nobody-here", PASSWORD), log_in(client, moderator, WRONG)
    assert unknown.status_code == wrong.status_code == 200
    assert "用户名或密码错误" in _text(unknown) and "用户名或密码错误" in _text(wrong)
    assert client.get("/admin/reviews").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, moderator):
    response = client.post("/admin/login", data={"username": moderator, "password": PASSWORD})
    assert response.status_code == 400 and "CSRF" in _text(response)
    forged = client.post("/admin/login", data={"username": moderator, "password": PASSWORD, "csrf_token": "x" * 40})
    assert forged.status_code == 400
    assert client.get("/admin/reviews").status_code == 302


def test_disabled_staff_cannot_log_in(app, client, moderator):
    with app.app_context():
        db.session.execute(sa.update(Staff).values(disabled_at=utcnow()))
        db.session.commit()
    response = log_in(client, moderator)
    assert response.status_code == 403 and "已停用" in _text(response)
    assert client.get("/admin/reviews").status_code == 302


def test_disabling_staff_ends_their_open_sessions(app, moderator_client):
    assert moderator_client.get("/admin/reviews").status_code == 200
    with app.app_context():
        db.session.execute(sa.update(Staff).values(disabled_at=utcnow()))
        db.session.commit()
    assert moderator_client.get("/admin/reviews").status_code == 302


def test_five_failures_for_a_name_lock_it_even_for_the_right_password(app, client, moderator):
    for _ in range(5):
        assert log_in(client, moderator, WRONG).status_code == 200
    locked = log_in(client, moderator)
    assert locked.status_code == 429 and "登录失败次数过多" in _text(locked)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    # Unknown names lock the same way: the lock itself tells nobody whether the name exists.
    for _ in range(5):
        log_in(client, "ghost", WRONG)
    assert log_in(client, "ghost", WRONG).status_code == 429
    # Refused attempts are not counted, so the lock lifts when the window has passed.
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert log_in(client, moderator).status_code == 302


def test_the_name_lock_is_case_insensitive(client, moderator):
    for _ in range(5):
        log_in(client, moderator.upper(), WRONG)
    assert log_in(client, moderator).status_code == 429


def test_twenty_failures_from_one_address_lock_that_address(app, moderator):
    attacker, colleague = app.test_client(), app.test_client()
    address = {"REMOTE_ADDR": "127.0.0.9"}
    for i in range(20):
        assert log_in(attacker, f"guess{i}", WRONG, environ_base=address).status_code == 200
    assert log_in(attacker, moderator, environ_base=address).status_code == 429
    # The name itself is not locked: the moderator logs in from their own desk.
    assert log_in(colleague, moderator).status_code == 302


def test_a_success_clears_nothing(client, app, moderator):
    for _ in range(4):
        log_in(client, moderator, WRONG)
    assert log_in(client, moderator).status_code == 302
    other = app.test_client()
    log_in(other, moderator, WRONG)
    assert log_in(other, moderator).status_code == 429


@pytest.mark.parametrize("target", ["/admin/reviews/12", "/admin/audit?page=2", "/admin/password"])
def test_next_returns_to_the_admin_page_asked_for(client, moderator, target):
    response = log_in(client, moderator, next_url=target)
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "http://evil.com/admin/", "/\\evil.com", "\\\\evil.com", "javascript:alert(1)",
    "/admin//evil.com", "//evil.com/admin/", "/admin@evil.com", "/admin/../../evil", "/public", "evil.com",
    "/admin/\r\nLocation: https://evil.com", "/%2f%2fevil.com", "/admin/\t/evil.com", " //evil.com",
])
def test_next_never_leaves_the_admin(client, moderator, target):
    page = client.get("/admin/login", query_string={"next": target})
    assert target not in page.get_data(as_text=True)
    response = client.post("/admin/login", data={"csrf_token": csrf_token(client), "username": moderator,
                                                  "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_anonymous_visit_comes_back_to_the_page_after_login(client, moderator):
    sent = client.get("/admin/audit?page=1")
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/admin/login?next=/admin/audit?page%3D1"
    next_url = "/admin/audit?page=1"
    login_page = client.get(sent.headers["Location"])
    assert f'value="{next_url}"' in login_page.get_data(as_text=True)


def test_logged_in_staff_visiting_login_go_to_the_queue(moderator_client):
    response = moderator_client.get("/admin/login")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_a_second_account_logs_in_independently(app, moderator):
    create_staff(app, "mod-lei")
    first, second = app.test_client(), app.test_client()
    assert log_in(first, moderator).status_code == 302 and log_in(second, "mod-lei").status_code == 302
    assert "mod-lei" in _text(second.get("/admin/reviews")) and moderator in _text(first.get("/admin/reviews"))
