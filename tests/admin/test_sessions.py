"""Server-side sessions: logout and a password change end them for good, copied cookies included."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, StaffSession
from app.models.types import utcnow
from tests.admin.factories import PASSWORD, csrf_token, log_in

NEW_PASSWORD = "a much longer new secret"


def copy_cookie(app, source):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    thief.set_cookie(name, source.get_cookie(name).value)
    return thief


def _log_out(client):
    return client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/reviews")})


def _change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/admin/password", data={
        "csrf_token": csrf_token(client, "/admin/password"), "current_password": current,
        "new_password": new, "confirm": confirm or new})


def test_logout_ends_the_session_for_a_copied_cookie_too(app, moderator_client):
    thief = copy_cookie(app, moderator_client)
    assert thief.get("/admin/reviews").status_code == 200  # a copy works while the session lives
    response = _log_out(moderator_client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert moderator_client.get("/admin/reviews").status_code == 302
    sent_back = thief.get("/admin/reviews")
    assert sent_back.status_code == 302 and sent_back.headers["Location"].startswith("/admin/login")
    with app.app_context():
        assert db.session.scalar(sa.select(StaffSession.revoked_at)) is not None


def test_logout_needs_the_csrf_token_and_a_post(moderator_client):
    assert moderator_client.post("/admin/logout").status_code == 400
    assert moderator_client.get("/admin/logout").status_code == 405
    assert moderator_client.get("/admin/reviews").status_code == 200


def test_password_change_ends_every_session_but_starts_a_fresh_one(app, moderator, moderator_client):
    thief = copy_cookie(app, moderator_client)
    other_desk = app.test_client()
    assert log_in(other_desk, moderator).status_code == 302
    response = _change_password(moderator_client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert moderator_client.get("/admin/reviews").status_code == 200
    assert thief.get("/admin/reviews").status_code == 302
    assert other_desk.get("/admin/reviews").status_code == 302
    assert log_in(app.test_client(), moderator, PASSWORD).status_code == 200  # the old password is gone
    assert log_in(app.test_client(), moderator, NEW_PASSWORD).status_code == 302
    with app.app_context():
        live = db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)
                                 .where(StaffSession.revoked_at.is_(None)))
        assert live == 2  # the fresh one and the login just made
        assert "password_changed" in db.session.scalars(sa.select(AuditEntry.action)).all()


def test_password_change_needs_the_current_password(app, moderator, moderator_client):
    response = _change_password(moderator_client, current="wrong current password")
    assert response.status_code == 422 and "当前密码不正确" in response.get_data(as_text=True)
    assert log_in(app.test_client(), moderator, PASSWORD).status_code == 302


def test_password_change_refuses_a_short_or_mistyped_new_password(moderator_client):
    short = _change_password(moderator_client, new="short")
    assert short.status_code == 422 and "新密码须为" in short.get_data(as_text=True)
    mistyped = _change_password(moderator_client, confirm="something else entirely")
    assert mistyped.status_code == 422 and "两次输入的新密码不一致" in mistyped.get_data(as_text=True)


def test_wrong_current_passwords_count_as_failed_logins(moderator_client):
    for _ in range(5):
        assert _change_password(moderator_client, current="guess guess guess").status_code == 422
    assert _change_password(moderator_client).status_code == 429


def test_an_expired_session_sends_back_to_login(app, moderator_client):
    with app.app_context():
        db.session.execute(sa.update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert moderator_client.get("/admin/reviews").status_code == 302


def test_a_cookie_shown_by_another_browser_is_dropped(app, moderator_client):
    """session_protection = "strong": the cookie is bound to the address and User-Agent it logged in from."""
    thief = copy_cookie(app, moderator_client)
    stolen = thief.get("/admin/reviews", headers={"User-Agent": "curl/8.0"})
    assert stolen.status_code == 302
    assert moderator_client.get("/admin/reviews").status_code == 200
