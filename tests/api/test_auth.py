"""WeChat login against a real local HTTP server playing WeChat, consent, and token life."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import AuthToken, Consent, User
from app.models.types import utcnow
from tests.fake_wechat import refused_base_url


def _login(client, code, version):
    body = {"code": code}
    if version is not None:
        body["privacy_version"] = version
    return client.post("/api/v1/auth/login", json=body)


@pytest.fixture
def version(app):
    return app.config["PRIVACY_POLICY_VERSION"]


def _count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_login_with_a_wechat_code_creates_the_user_and_a_working_token(client, fake_wechat, version, app):
    code = fake_wechat.issue_code("openid-alice", unionid="union-alice")
    response = _login(client, code, version)
    assert response.status_code == 200
    body = response.get_json()
    assert body["is_new"] is True and body["user"]["id"] and body["expires_at"]
    assert "session_key" not in response.get_data(as_text=True)
    sent = fake_wechat.requests[-1]
    assert sent["appid"] == "wx-test-appid" and sent["secret"] == "test-app-secret"
    assert sent["js_code"] == code and sent["grant_type"] == "authorization_code"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["user"]["id"] == body["user"]["id"]
    again = _login(client, fake_wechat.issue_code("openid-alice"), version).get_json()
    assert again["is_new"] is False and again["user"]["id"] == body["user"]["id"]
    with app.app_context():
        consent = db.session.scalar(sa.select(Consent))
        assert consent.version == version and consent.consented_at is not None
        assert db.session.scalar(sa.select(AuthToken.token_hash)) != body["token"]


def test_login_without_consent_is_428_and_stores_nothing(client, fake_wechat, version, app):
    calls_before = len(fake_wechat.requests)
    for given in (None, "2020-01-01"):
        response = _login(client, fake_wechat.issue_code("openid-bob"), given)
        assert response.status_code == 428
        error = response.get_json()["error"]
        assert error["code"] == "consent_required"
        assert error["details"] == {"privacy_version": version, "policy_url": "/privacy"}
    assert len(fake_wechat.requests) == calls_before
    assert _count(app, User) == 0
    assert client.get("/privacy").status_code == 200


@pytest.mark.parametrize("errcode, status, code", [
    (40029, 401, "invalid_code"),
    (40163, 401, "invalid_code"),
    (45011, 429, "rate_limited"),
    (40226, 403, "wechat_risk_blocked"),
    (-1, 502, "wechat_unavailable"),
])
def test_wechat_errors_map_to_the_contracts_codes(client, fake_wechat, version, app, errcode, status, code):
    fake_wechat.fail_next(errcode)
    response = _login(client, fake_wechat.issue_code("openid-carol"), version)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert _count(app, User) == 0


def test_a_reused_or_unknown_code_is_invalid(client, fake_wechat, version):
    code = fake_wechat.issue_code("openid-dave")
    assert _login(client, code, version).status_code == 200
    assert _login(client, code, version).get_json()["error"]["code"] == "invalid_code"
    assert _login(client, "never-issued", version).get_json()["error"]["code"] == "invalid_code"


def test_wechat_timeout_answers_502_quickly(app, fake_wechat, version):
    slow_app = create_app("testing", {**_same_db(app), "WECHAT_TIMEOUT": (0.5, 0.3)})
    fake_wechat.hang_next(3)
    response = _login(slow_app.test_client(), fake_wechat.issue_code("openid-erin"), version)
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "wechat_unavailable"


def test_wechat_connection_refused_answers_502(app, fake_wechat, version):
    down_app = create_app("testing", {**_same_db(app), "WECHAT_API_BASE": refused_base_url()})
    response = _login(down_app.test_client(), "any-code", version)
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "wechat_unavailable"


def _same_db(app):
    return {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE",
                                       "WECHAT_APPID", "WECHAT_SECRET")}


def test_logout_revokes_the_token(client, login):
    headers = login("frank")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_an_expired_token_is_refused(client, login, app):
    headers = login("grace")
    with app.app_context():
        db.session.execute(sa.update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for path in ("/api/v1/me", "/api/v1/leaderboard", "/api/v1/leaderboard?scope=all"):
        assert client.get(path, headers=headers).status_code == 401, path


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer short", "Basic abc", "Bearer " + "x" * 43])
def test_missing_or_malformed_tokens_get_401_in_the_envelope(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_development_login_is_refused_when_switched_off(app, version):
    strict = create_app("testing", {**_same_db(app), "WECHAT_DEV_LOGIN": False})
    response = _login(strict.test_client(), "dev:mallory", version)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_code"


def test_production_refuses_to_start_with_development_login(app):
    with pytest.raises(RuntimeError, match="WECHAT_DEV_LOGIN"):
        create_app("production", {**_same_db(app), "WECHAT_DEV_LOGIN": True, "SECRET_KEY": "k" * 32})


def test_production_refuses_to_start_without_a_secret_key(app):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {**_same_db(app), "SECRET_KEY": None})


def test_login_rejects_a_malformed_body(client):
    for body in ([], {"code": 5}, {"code": "x", "extra": 1}, "text"):
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "validation_error"
