"""DATABASE_STATEMENT_TIMEOUT (set for web workers by gunicorn.conf.py): a request stuck behind a lock that
something else holds answers 503 after that many seconds, instead of holding its worker until gunicorn
kills it, and leaves nothing half-written; once the lock is gone the same request goes through. The lock
is real: another connection holds the user's row (PostgreSQL, MariaDB) or SQLite's write lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db


@contextmanager
def lock_held_on_user(database_url: str, user_id: int) -> Iterator[None]:
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as holder, holder.begin() as transaction:
            holder.execute(sa.text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user_id})
            yield
            transaction.rollback()
    finally:
        engine.dispose()


def answered_within(seconds: float, request):
    """The response, or a failure if the request still waits after `seconds` (it would hold a worker)."""
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(request()), daemon=True)
    waiting.start()
    waiting.join(seconds)
    assert answers, f"still waiting after {seconds} s"
    return answers[0]


def test_a_request_stuck_behind_a_held_lock_answers_503_then_goes_through_once_it_is_released(
        app, database_url, client, login):
    headers = login("held")
    user_id = client.get("/api/v1/me", headers=headers).get_json()["user"]["id"]
    bounded = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": app.config["UPLOAD_DIR"],
                                     "DATABASE_STATEMENT_TIMEOUT": 1})
    try:
        server = bounded.test_client()
        with lock_held_on_user(database_url, user_id):
            stuck = answered_within(15, lambda: server.patch("/api/v1/me", headers=headers,
                                                                json={"nickname": "排队中"}))
            assert stuck.status_code == 503, stuck.get_json()
            assert stuck.get_json()["error"]["code"] == "service_unavailable"
            # Reads do not wait for a writer's lock.
            assert server.get("/api/v1/me", headers=headers).get_json()["user"]["nickname"] != "排队中"
        assert server.patch("/api/v1/me", headers=headers, json={"nickname": "通过了"}).status_code == 200
        assert client.get("/api/v1/me", headers=headers).get_json()["user"]["nickname"] == "通过了"
    finally:
        with bounded.app_context():
            db.session.remove()
            db.engine.dispose()
