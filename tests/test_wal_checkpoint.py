"""SQLite: a thread of the process copies the write-ahead log back into the database, so commits never
wait for it, and a long read never stalls the writers behind it.

Each test runs a SQLite app of its own on a file (so this runs in every pass, whatever TEST_DATABASE_URL
says).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from decimal import Decimal

import pytest

from app import create_app, database
from app.extensions import db
from app.models import Account
from tests.api.test_rewards import give_points
from tests.conftest import reset_database


def _sqlite_app(tmp_path, checkpoint_seconds: float):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.db'}",
                                 "UPLOAD_DIR": str(tmp_path / "uploads"),
                                 "SQLITE_CHECKPOINT_SECONDS": checkpoint_seconds})
    reset_database(app)
    return app


def _user(app) -> int:
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "code": "dev:saver", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()["token"]
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["user"]["id"]


def _balance_in_database_file_alone(app, tmp_path) -> Decimal | None:
    """The balance a copy of the database file holds without its -wal: what the checkpoints copied back."""
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(tmp_path / "live.db", copy)
    conn = sqlite3.connect(copy)
    try:
        row = conn.execute("SELECT balance_points FROM accounts").fetchone()  # stored in tenths
    except sqlite3.DatabaseError:  # copied halfway through a checkpoint's writes
        return None
    finally:
        conn.close()
        copy.unlink()
    return None if row is None else Decimal(row[0]).scaleb(-1)


def test_the_database_file_catches_up_with_the_commits_soon_after_they_stop(tmp_path):
    app = _sqlite_app(tmp_path, 0.05)
    uid = _user(app)
    for _ in range(20):
        give_points(app, uid, "1.5")
    # A few rounds of the thread later the file holds every commit, though the WAL is far below the
    # 10,000 frames at which a commit would have copied it back.
    deadline = time.monotonic() + 5
    while _balance_in_database_file_alone(app, tmp_path) != Decimal("30.0") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _balance_in_database_file_alone(app, tmp_path) == Decimal("30.0")


def test_without_the_thread_the_commits_leave_the_wal_to_sqlite(tmp_path):
    app = _sqlite_app(tmp_path, 0)
    uid = _user(app)
    for _ in range(20):
        give_points(app, uid, "1.5")
    time.sleep(0.3)
    assert _balance_in_database_file_alone(app, tmp_path) != Decimal("30.0")  # still only in the WAL
    with app.app_context():
        assert db.session.scalar(db.text("PRAGMA wal_autocheckpoint")) == database.WAL_RESTART_PAGES


def test_a_long_read_holds_no_writer_back_for_long(tmp_path, monkeypatch):
    monkeypatch.setattr(database, "WAL_RESTART_PAGES", 20)  # the thread tries to restart the WAL at once
    app = _sqlite_app(tmp_path, 0.02)
    uid = _user(app)
    reader = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ledger_entries").fetchone()  # a snapshot the WAL must keep
    slowest = 0.0
    try:
        for _ in range(60):
            started = time.perf_counter()
            give_points(app, uid, "1.5")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.005)
        wal_bytes = (tmp_path / "live.db-wal").stat().st_size
    finally:
        reader.execute("COMMIT")
        reader.close()
    # The restart waited for the reader at most CHECKPOINT_BUSY_TIMEOUT each round, then let writers on.
    assert wal_bytes > database.WAL_RESTART_PAGES * 4096  # it could not restart under the open snapshot
    assert slowest < 1.0, slowest
    with app.app_context():
        assert db.session.get(Account, uid).balance_points == Decimal("90.0")  # every write went through


def test_one_checkpointer_thread_a_process_which_ends_with_the_database(tmp_path):
    app = _sqlite_app(tmp_path, 0.02)
    uid = _user(app)

    def threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == f"sqlite-wal-checkpoint {tmp_path / 'live.db'}"]

    for _ in range(5):
        give_points(app, uid, "1.5")
    assert len(threads()) == 1  # started by the first write, not once a write
    with app.app_context():
        db.engine.dispose()
    for name in ("live.db", "live.db-wal", "live.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    threads()[0].join(5)
    assert threads() == []
