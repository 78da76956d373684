"""The database going away mid-service: requests answer 503 in the envelope, and recover when it returns.

The outage is real: the app talks to PostgreSQL or MariaDB through a local TCP proxy that the test cuts
(every connection dropped, new ones refused) and restores. SQLite has no equivalent (a file that is
open stays readable even when removed), so on SQLite runs this module uses the PostgreSQL server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.conftest import reset_database, server_database
from tests.tcp_proxy import TcpProxy

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def proxied() -> Iterator[tuple[Flask, TcpProxy]]:
    given = os.environ.get("TEST_DATABASE_URL") or POSTGRES_URL
    with server_database(given) as direct:
        url = make_url(direct)
        with TcpProxy(url.host, url.port) as proxy:
            app = create_app("testing", {
                "SQLALCHEMY_DATABASE_URI": url.set(host="127.0.0.1", port=proxy.port)
                                              .render_as_string(hide_password=False),
                "DATABASE_CONNECT_TIMEOUT": 2})
            reset_database(app)
            yield app, proxy
            with app.app_context():
                db.engine.dispose()


def _login(client, app) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={
        "code": "dev:outage", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _last_night(app) -> str:
    return (datetime.now(ZoneInfo(app.config["APP_TIMEZONE"])).date() - timedelta(days=1)).isoformat()


def _unavailable(response) -> None:
    assert response.status_code == 503
    assert response.is_json, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_database_outage_answers_503_and_the_next_requests_after_it_succeed(proxied):
    app, proxy = proxied
    client = app.test_client()
    headers = _login(client, app)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    bedtime = {"night": _last_night(app), "bedtime": "22:00"}

    proxy.cut()
    try:
        _unavailable(client.get("/api/v1/me", headers=headers))  # a read (the token lookup first)
        _unavailable(client.get("/api/v1/factors"))  # a read needing no login
        _unavailable(client.post("/api/v1/bedtimes", headers=headers, json=bedtime))  # a write
        _unavailable(client.post("/api/v1/auth/login", json={
            "code": "dev:newcomer", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}))
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("unavailable")
    finally:
        proxy.restore()

    # Pooled connections died with the proxy; the pool notices and reconnects on the next checkout.
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    created = client.post("/api/v1/bedtimes", headers=headers, json=bedtime)
    assert created.status_code == 201, created.get_json()  # the refused write had stored nothing
    assert client.get("/readyz").status_code == 200


def test_connections_dropped_between_requests_are_replaced_without_an_error(proxied):
    """A database restart (or a proxy's idle cut) closes pooled connections: users never notice."""
    app, proxy = proxied
    client = app.test_client()
    headers = _login(client, app)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    proxy.cut()
    proxy.restore()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/records", headers=headers).status_code == 200
