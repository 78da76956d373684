"""Rate limits: 429 rate_limited with Retry-After, per user and per IP, shared by gunicorn workers through Redis."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from flask import Flask

from app import create_app
from app.extensions import db
from tests.fake_wechat import refused_base_url
from tests.races import race

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
_SHARED_SETTINGS = ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE", "WECHAT_APPID", "WECHAT_SECRET")


def _closed_port() -> int:
    return urlsplit(refused_base_url()).port


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own, so runs sharing one Redis never count each other's requests."""
    prefix = f"ratelimit-test-{secrets.token_hex(6)}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"*{prefix}*"):
        store.delete(key)
    store.close()


@pytest.fixture
def settings(app, key_prefix) -> Callable[..., dict]:
    """The session app's database and services, with the given limits, counted in the test Redis."""

    def _settings(**overrides) -> dict:
        return {**{name: app.config[name] for name in _SHARED_SETTINGS},
                "REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": key_prefix, **overrides}

    return _settings


@pytest.fixture
def limited_app(settings) -> Iterator[Callable[..., Flask]]:
    """A fresh app with real limits on the test database (the session app's limits are out of reach)."""
    made: list[Flask] = []

    def _make(**overrides) -> Flask:
        made.append(create_app("testing", settings(**overrides)))
        return made[-1]

    yield _make
    for limited in made:
        with limited.app_context():
            db.engine.dispose()


def sign_in(client, app: Flask, name: str, ip: str = "127.0.0.1", **headers):
    return client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip}, headers=headers, json={
        "code": f"dev:{name}", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})


def bearer(response) -> dict[str, str]:
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def assert_rate_limited(response, window_seconds: int) -> None:
    """A Flask test response or a requests one: 429, the envelope, and a Retry-After within the window."""
    assert response.status_code == 429
    error = (response.get_json() if hasattr(response, "get_json") else response.json())["error"]
    assert error["code"] == "rate_limited" and error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window_seconds
    assert error["details"]["retry_after"] == retry_after


def test_writes_past_the_limit_get_429_rate_limited_with_retry_after(limited_app):
    app = limited_app(RATELIMIT_WRITES_PER_USER="3/minute")
    client = app.test_client()
    alice = bearer(sign_in(client, app, "alice"))

    statuses = [client.post("/api/v1/friends/invites", headers=alice).status_code for _ in range(3)]
    refused = client.post("/api/v1/friends/invites", headers=alice)

    assert statuses == [201, 201, 201]
    assert_rate_limited(refused, 60)
    assert refused.get_json()["error"]["details"]["limit"] == "3 per 1 minute"
    # Reading is not limited: the account still opens.
    assert client.get("/api/v1/me", headers=alice).status_code == 200


def test_one_users_limit_does_not_hold_back_another(limited_app):
    app = limited_app(RATELIMIT_WRITES_PER_USER="2/minute")
    client = app.test_client()
    alice, bob = bearer(sign_in(client, app, "alice")), bearer(sign_in(client, app, "bob"))

    alice_statuses = [client.post("/api/v1/friends/invites", headers=alice).status_code for _ in range(3)]
    bob_response = client.post("/api/v1/friends/invites", headers=bob)

    assert alice_statuses == [201, 201, 429]
    assert bob_response.status_code == 201


def test_login_is_limited_per_client_ip(limited_app):
    app = limited_app(RATELIMIT_LOGIN_PER_IP="3/minute")
    client = app.test_client()

    from_one_ip = [sign_in(client, app, f"user{i}", ip="203.0.113.7").status_code for i in range(3)]
    refused = sign_in(client, app, "user3", ip="203.0.113.7")
    from_another_ip = sign_in(client, app, "user3", ip="198.51.100.20")

    assert from_one_ip == [200, 200, 200]
    assert_rate_limited(refused, 60)
    assert from_another_ip.status_code == 200


def test_behind_nginx_each_forwarded_client_has_its_own_login_limit(limited_app):
    app = limited_app(RATELIMIT_LOGIN_PER_IP="1/minute", TRUSTED_PROXIES=1)
    client = app.test_client()

    def via_nginx(name: str, client_ip: str):
        return sign_in(client, app, name, ip="10.0.0.2", **{"X-Forwarded-For": client_ip})

    assert via_nginx("ann", "203.0.113.7").status_code == 200
    assert via_nginx("ben", "203.0.113.8").status_code == 200
    assert via_nginx("cat", "203.0.113.7").status_code == 429


def test_photo_uploads_have_a_limit_of_their_own_per_user(limited_app):
    app = limited_app(RATELIMIT_PHOTO_UPLOADS_PER_USER="2/minute;5/day")
    client = app.test_client()
    alice, bob = bearer(sign_in(client, app, "alice")), bearer(sign_in(client, app, "bob"))

    def upload(headers):
        # Not an image: refused with 415 when read, but the limit counts the attempt before that.
        return client.post("/api/v1/photos", headers=headers, content_type="multipart/form-data",
                           data={"kind": "sorting", "file": (io.BytesIO(b"not a photo"), "p.jpg")})

    alice_statuses = [upload(alice).status_code for _ in range(2)]
    refused = upload(alice)

    assert alice_statuses == [415, 415]
    assert_rate_limited(refused, 60)
    assert refused.get_json()["error"]["details"]["limit"] == "2 per 1 minute"
    assert upload(bob).status_code == 415  # another user uploads on
    assert client.post("/api/v1/friends/invites", headers=alice).status_code == 201  # other writes go on


def test_all_writes_from_one_ip_share_a_ceiling(limited_app):
    app = limited_app(RATELIMIT_WRITES_PER_IP="4/minute")
    client = app.test_client()
    alice = bearer(sign_in(client, app, "alice"))  # write 1
    bob = bearer(sign_in(client, app, "bob"))  # write 2

    statuses = [client.post("/api/v1/friends/invites", headers=who).status_code for who in (alice, bob, alice)]

    assert statuses == [201, 201, 429]


def test_the_partner_api_is_limited_per_ip_before_any_signature_is_checked(limited_app):
    app = limited_app(RATELIMIT_PARTNER_PER_IP="2/minute")
    client = app.test_client()

    unsigned = [client.post("/partner/v1/events", json={}).status_code for _ in range(2)]
    refused = client.post("/partner/v1/events", json={})

    assert unsigned == [401, 401]
    assert_rate_limited(refused, 60)
    # Another partner server has its own allowance.
    other = client.post("/partner/v1/events", json={}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 401


def test_limits_hold_when_every_view_is_wrapped(limited_app):
    """OpenAPI libraries wrap each view in a function of their own: the limits must not depend on views."""
    app = limited_app(RATELIMIT_WRITES_PER_USER="2/minute")

    def wrapped(view):
        @wraps(view, assigned=())  # one generic name for every view, as a framework's wrapper has
        def view_func(*args, **kwargs):
            return view(*args, **kwargs)
        return view_func

    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = wrapped(view)
    client = app.test_client()
    alice = bearer(sign_in(client, app, "alice"))

    statuses = [client.post("/api/v1/friends/invites", headers=alice).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]


def test_limits_can_be_switched_off(limited_app):
    app = limited_app(RATELIMIT_ENABLED=False, RATELIMIT_WRITES_PER_USER="1/minute")
    client = app.test_client()
    alice = bearer(sign_in(client, app, "alice"))

    statuses = [client.post("/api/v1/friends/invites", headers=alice).status_code for _ in range(2)]

    assert statuses == [201, 201]


def test_redis_down_answers_requests_and_warns_instead_of_failing(limited_app, caplog):
    app = limited_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", RATELIMIT_WRITES_PER_USER="2/minute")
    client = app.test_client()
    alice = bearer(sign_in(client, app, "alice"))

    with caplog.at_level(logging.WARNING):
        statuses = [client.post("/api/v1/friends/invites", headers=alice).status_code for _ in range(3)]

    # No 500: the limits went on in this worker's memory, and the operator was told why.
    assert statuses == [201, 201, 429]
    assert any(record.levelno == logging.WARNING and "storage unreachable" in record.getMessage()
               for record in caplog.records)


@pytest.fixture
def gunicorn_two_workers(settings, tmp_path) -> Iterator[str]:
    """The app under a real gunicorn with two worker processes, writes limited to 5 per user per minute."""
    port = _closed_port()
    env = {**os.environ, "TEST_APP_OVERRIDES": json.dumps(settings(RATELIMIT_WRITES_PER_USER="5/minute"))}
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "tests.gunicorn_app:create()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_workers(base, server, count=2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()


def _wait_for_workers(base: str, server: subprocess.Popen, count: int) -> None:
    """Until `count` different workers have answered (a burst of parallel requests reaches them all)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < count:
        assert server.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, f"only workers {seen} answered"
        try:  # workers still booting leave the first requests waiting in the listen queue
            burst = race(8, lambda _: requests.get(f"{base}/healthz", timeout=30))
            seen.update(response.headers["X-Worker-Pid"] for response in burst)
        except requests.RequestException:
            time.sleep(0.2)


def test_limit_is_shared_by_two_gunicorn_workers_through_redis(gunicorn_two_workers, login):
    alice = login("alice")

    # Fresh connections, released together, so both workers take some of them.
    responses = race(12, lambda _: requests.post(f"{gunicorn_two_workers}/api/v1/friends/invites",
                                                 headers=alice, timeout=30))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [429] * 7
    assert len({r.headers["X-Worker-Pid"] for r in responses}) == 2
    for refused in (r for r in responses if r.status_code == 429):
        assert_rate_limited(refused, 60)
