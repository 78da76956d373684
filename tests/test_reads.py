"""The hot reads' held connections (app/reads.py): fresh data, no leaked connections, writes still atomic."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from app.database import write_transaction
from app.extensions import db
from app.models import User


def _open_connections(app) -> int:
    """Connections to the test database that the server (or, for SQLite, this process) holds open."""
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            database = os.path.realpath(db.engine.url.database)
            return sum(1 for fd in Path("/proc/self/fd").iterdir()
                       if os.path.realpath(fd) == database)
        query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                 if dialect == "postgresql" else
                 "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()")
        with db.engine.connect() as conn:
            return conn.exec_driver_sql(query).scalar()


def test_what_a_write_commits_is_read_back_at_once(client, login):
    headers = login("reader")
    assert client.get("/api/v1/me", headers=headers).get_json()["user"]["nickname"] is None
    changed = client.patch("/api/v1/me", headers=headers, json={"nickname": "小绿"})
    assert changed.status_code == 200
    # The next read, on the held autocommit connection, sees the commit: no snapshot kept from before.
    assert client.get("/api/v1/me", headers=headers).get_json()["user"]["nickname"] == "小绿"
    client.post("/api/v1/auth/logout", headers=headers)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_request_threads_that_end_leave_no_connection_open(app, live_server, login):
    headers = login("threads")
    requests.get(f"{live_server}/api/v1/me", headers=headers, timeout=10)  # the pool warmed up
    time.sleep(0.2)
    gc.collect()
    before = _open_connections(app)
    # The development server runs each request on a thread of its own, each with its own read connection.
    for _ in range(15):
        assert requests.get(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 200
    time.sleep(0.2)  # the last request's thread finishing
    gc.collect()
    assert _open_connections(app) <= before + 1


def test_a_failed_write_leaves_nothing_behind_after_reads_on_other_threads(app, live_server, login):
    """Read connections run in autocommit mode; none may ever reach the pool that write transactions use."""
    headers = login("atomic")
    for _ in range(10):
        assert requests.get(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 200
    time.sleep(0.2)
    gc.collect()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.openid == "dev_atomic"))
        with pytest.raises(RuntimeError):
            with write_transaction():
                db.session.execute(sa.update(User).where(User.id == user_id).values(nickname="half-written"))
                db.session.flush()
                raise RuntimeError("the write fails after its first statement")
        db.session.remove()
        assert db.session.scalar(sa.select(User.nickname).where(User.id == user_id)) is None
        db.session.remove()
