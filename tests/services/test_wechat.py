"""WechatClient.code_to_session against a real local fake WeChat server, over real HTTP."""

from __future__ import annotations

import logging
import time
import traceback

import pytest
import requests

from app.errors import InvalidCode, RateLimited, WechatRiskBlocked, WechatUnavailable
from app.services.wechat import WechatClient, WechatSession
from tests.fake_wechat import FakeWechat, refused_base_url

APPID = "wx-appid-for-tests"
SECRET = "s3cret-that-must-never-leak"


@pytest.fixture
def fake():
    with FakeWechat(appid=APPID, secret=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    return WechatClient(fake.base_url, APPID, SECRET, timeout=(0.5, 0.5))


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_valid_code_returns_openid_session_key_and_unionid(fake, client, content_type):
    fake.content_type = content_type
    code = fake.issue_code("openid-alice", unionid="unionid-alice")

    session = client.code_to_session(code)

    assert isinstance(session, WechatSession)
    assert (session.openid, session.unionid) == ("openid-alice", "unionid-alice")
    assert session.session_key


def test_client_sends_appid_secret_code_and_grant_type(fake, client):
    code = fake.issue_code("openid-alice")

    client.code_to_session(code)

    assert fake.requests == [
        {"appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code"}
    ]


def test_unionid_is_none_when_wechat_sends_none(fake, client):
    assert client.code_to_session(fake.issue_code("openid-bob")).unionid is None


def test_session_repr_hides_session_key(fake, client):
    session = client.code_to_session(fake.issue_code("openid-alice"))

    assert session.session_key not in repr(session)


def test_reused_code_is_invalid_code(fake, client):
    code = fake.issue_code("openid-alice")
    client.code_to_session(code)

    with pytest.raises(InvalidCode) as caught:
        client.code_to_session(code)
    assert caught.value.details == {"wechat_errcode": 40163}


def test_unknown_code_is_invalid_code(client):
    with pytest.raises(InvalidCode) as caught:
        client.code_to_session("code-wechat-never-issued")
    assert caught.value.details == {"wechat_errcode": 40029}


def test_empty_code_is_invalid_code_without_asking_wechat(fake, client):
    with pytest.raises(InvalidCode):
        client.code_to_session("  ")
    assert fake.requests == []


def test_rate_limit_45011_is_rate_limited(fake, client):
    fake.fail_next(errcode=45011, errmsg="api minute-quota reach limit")

    with pytest.raises(RateLimited):
        client.code_to_session(fake.issue_code("openid-alice"))


def test_high_risk_user_40226_is_wechat_risk_blocked(fake, client):
    fake.fail_next(errcode=40226, errmsg="invalid user")

    with pytest.raises(WechatRiskBlocked):
        client.code_to_session(fake.issue_code("openid-alice"))


def test_system_busy_minus_1_is_wechat_unavailable(fake, client):
    fake.fail_next(errcode=-1, errmsg="system error")

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert caught.value.details == {"wechat_errcode": -1}


def test_failure_is_scripted_for_the_next_request_only(fake, client):
    fake.fail_next(errcode=-1)
    code = fake.issue_code("openid-alice")
    with pytest.raises(WechatUnavailable):
        client.code_to_session(code)

    assert client.code_to_session(code).openid == "openid-alice"


@pytest.mark.parametrize(("appid", "secret", "errcode"), [
    ("wx-someone-else", SECRET, 40013),
    (APPID, "wrong-secret", 40125),
])
def test_wrong_app_credentials_are_wechat_unavailable(fake, appid, secret, errcode):
    client = WechatClient(fake.base_url, appid, secret)

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert caught.value.details == {"wechat_errcode": errcode}


@pytest.mark.parametrize(("appid", "secret"), [(None, SECRET), (APPID, None), ("", "")])
def test_missing_app_credentials_are_wechat_unavailable_not_configured(fake, appid, secret):
    client = WechatClient(fake.base_url, appid, secret)

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert caught.value.details == {"cause": "not_configured"}
    assert "未配置" in caught.value.message
    assert fake.requests == []


def test_http_500_is_wechat_unavailable(fake, client):
    fake.http_status_next(500)

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert caught.value.details["http_status"] == 500


def test_garbage_body_is_wechat_unavailable(fake, client):
    fake.garbage_next()

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert caught.value.details == {"cause": "bad_response"}


def test_hang_longer_than_read_timeout_is_wechat_unavailable_quickly(fake):
    client = WechatClient(fake.base_url, APPID, SECRET, timeout=(0.3, 0.3))
    fake.hang_next(seconds=5)

    started = time.monotonic()
    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session(fake.issue_code("openid-alice"))
    assert time.monotonic() - started < 2
    assert caught.value.details == {"cause": "timeout"}


def test_connection_refused_is_wechat_unavailable():
    client = WechatClient(refused_base_url(), APPID, SECRET, timeout=(0.5, 0.5))

    with pytest.raises(WechatUnavailable) as caught:
        client.code_to_session("code-anything")
    assert caught.value.details == {"cause": "connection_error"}


def test_clients_reuse_one_requests_session(fake, client):
    session = client.session
    client.code_to_session(fake.issue_code("openid-alice"))
    client.code_to_session(fake.issue_code("openid-bob"))

    assert client.session is session
    assert isinstance(session, requests.Session)


SCRIPTS = {
    "invalid_code": lambda fake: None,
    "system_busy": lambda fake: fake.fail_next(errcode=-1),
    "http_500": lambda fake: fake.http_status_next(500),
    "garbage": lambda fake: fake.garbage_next(),
    "hang": lambda fake: fake.hang_next(seconds=5),
}


@pytest.mark.parametrize("scenario", [*SCRIPTS, "connection_refused"])
def test_failures_never_reveal_secret_or_code(fake, caplog, scenario):
    """requests puts the full URL (secret included) in its exception messages; none may reach us."""
    caplog.set_level(logging.DEBUG, logger="app.services.wechat")
    base_url = refused_base_url() if scenario == "connection_refused" else fake.base_url
    SCRIPTS.get(scenario, lambda fake: None)(fake)
    client = WechatClient(base_url, APPID, SECRET, timeout=(0.3, 0.3))
    code = "code-not-to-be-logged"

    with pytest.raises((InvalidCode, WechatUnavailable)) as caught:
        client.code_to_session(code)

    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value.details) + repr(client)
    logged = caplog.text
    assert logged  # the failure was logged ...
    for secret in (SECRET, code):  # ... without the secret or the user's code
        assert secret not in shown
        assert secret not in logged


def test_fake_stable_token_is_stable_until_forced_refresh(fake):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    url = fake.base_url + "/cgi-bin/stable_token"

    first = requests.post(url, json=body, timeout=2).json()
    again = requests.post(url, json=body, timeout=2).json()
    forced = requests.post(url, json={**body, "force_refresh": True}, timeout=2).json()

    assert first["expires_in"] == 7200
    assert again["access_token"] == first["access_token"]
    assert forced["access_token"] != first["access_token"]
