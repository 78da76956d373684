"""Fixtures: the app on the test database (SQLite, or TEST_DATABASE_URL), a client, a fake WeChat."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.fake_wechat import FakeWechat

WECHAT_APPID, WECHAT_SECRET = "wx-test-appid", "test-app-secret"


def reset_database(app: Flask) -> None:
    """Drop everything (alembic_version too) and migrate from scratch: every run tests the migrations."""
    import flask_migrate

    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(bind=db.engine)
        meta.drop_all(bind=db.engine)
        flask_migrate.upgrade()


@pytest.fixture(scope="session")
def fake_wechat() -> Iterator[FakeWechat]:
    with FakeWechat(appid=WECHAT_APPID, secret=WECHAT_SECRET) as fake:
        yield fake


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite in a temp dir, or a fresh database of its own on the server TEST_DATABASE_URL names, so
    that test runs sharing one PostgreSQL or MariaDB (a CI job, a colleague) never touch each other."""
    given = os.environ.get("TEST_DATABASE_URL")
    if not given:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with server_database(given) as url:
        yield url


@contextmanager
def server_database(given: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL or MariaDB server `given` names, dropped afterwards."""
    url = make_url(given)
    name = f"{url.database}_{os.getpid()}_{secrets.token_hex(3)}"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    quoted = server.dialect.identifier_preparer.quote(name)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if url.get_backend_name() == "postgresql" else ""
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}{force}")
        server.dispose()


@pytest.fixture(scope="session")
def app(database_url, fake_wechat, tmp_path_factory) -> Flask:
    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "WECHAT_API_BASE": fake_wechat.base_url,
        "WECHAT_APPID": WECHAT_APPID,
        "WECHAT_SECRET": WECHAT_SECRET,
    })
    reset_database(app)
    return app


# Rows every test starts from, as the migrations load them: the factor catalog and the mutex rows.
_KEEP = {"emission_factors": sa.text("version > 1"), "alembic_version": None, "mutexes": None}


@pytest.fixture(autouse=True)
def clean_database(request) -> Iterator[None]:
    """After each test: the ledger invariant holds for every account, then every row and file it made is gone."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        assert_ledger_matches_balances()
        tables = reversed(db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            # MariaDB checks the photo -> suspected original key row by row: unlink before deleting.
            conn.execute(sa.text("UPDATE photos SET suspected_original_id = NULL"))
            for table in tables:
                if table.name in _KEEP:
                    if _KEEP[table.name] is not None:
                        conn.execute(table.delete().where(_KEEP[table.name]))
                    continue
                conn.execute(table.delete())
    # The photo files went with their rows.
    shutil.rmtree(app.config["UPLOAD_DIR"], ignore_errors=True)
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)


def assert_ledger_matches_balances() -> None:
    from app.models import Account, LedgerEntry

    sums = dict(db.session.execute(
        sa.select(LedgerEntry.user_id, sa.func.sum(LedgerEntry.points)).group_by(LedgerEntry.user_id)).all())
    for user_id, balance in db.session.execute(sa.select(Account.user_id, Account.balance_points)).all():
        assert sums.get(user_id, Decimal("0.0")) == balance, f"user {user_id}: ledger != balance"


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP from a thread, for races and the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login(client, app):
    """Log a user in with the development login; returns the headers that carry their token."""

    def _login(name: str = "alice") -> dict[str, str]:
        response = client.post("/api/v1/auth/login", json={
            "code": f"dev:{name}", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return _login
