"""Database engine set-up and the write transaction every service uses."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.errors import DuplicateRecord, ServiceUnavailable
from app.extensions import db

# Set while a write transaction is being opened, so SQLite's BEGIN takes the write lock at once.
_begin_immediate: ContextVar[bool] = ContextVar("begin_immediate", default=False)


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, busy timeout, and transactions we begin ourselves."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Python's sqlite3 opens no transaction before a SELECT: take over BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # (The busy timeout is the connection's `timeout`: DATABASE_STATEMENT_TIMEOUT, else 30 s.)
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # SQLite's default page cache is 2 MB: at a million users a friends board (three index
        # lookups a friend) or an earning (a dozen random index pages) re-reads most pages from the
        # OS each time. 64 MB of cache per connection (allocated as used) keeps them, and reads
        # through a memory map skip a system call per page after another connection's write.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=1073741824").fetchall()
        # Copy the WAL back into the database every 10,000 pages (40 MB) rather than 1,000: each
        # checkpoint syncs the file, and pages that many commits touch (index tails) are written once.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[None]:
    """One service call, one transaction: commit on success, roll back on any error.

    Nested calls join the outer transaction (the idempotency layer wraps a whole request in one).
    On SQLite the transaction starts with BEGIN IMMEDIATE so that read-check-write sequences are
    serialised; on PostgreSQL and MariaDB services use conditional updates and row locks.
    A unique-constraint violation (the database's own guard against double credits) becomes
    409 duplicate_record, never a 500.
    """
    session = db.session
    if session.info.get("in_write_transaction"):
        yield
        return
    # End any read transaction opened earlier in the request (e.g. by token lookup).
    session.commit()
    writer_lock = _sqlite_writer_lock(db.engine)
    token = _begin_immediate.set(True)
    session.info["in_write_transaction"] = True
    try:
        if writer_lock is not None:
            writer_lock.acquire()
        session.connection()  # begin now, with the write lock on SQLite
        _begin_immediate.reset(token)
        token = None
        yield
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateRecord() from exc
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            raise ServiceUnavailable() from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        if writer_lock is not None:
            writer_lock.release()
        if token is not None:
            _begin_immediate.reset(token)
        session.info["in_write_transaction"] = False


class SqliteWriterLock:
    """One SQLite writer at a time across this server's processes, queued on a file lock.

    SQLite lets one transaction write at a time; the others wait in its busy handler, which sleeps in
    steps growing to 100 ms however soon the lock is free, so under concurrent writes most of a
    request's time was sleep (trip writes from 2 gunicorn workers: p50 47 ms, p99 886 ms for ~9 ms of
    work). Writers now queue on flock() on a file beside the database and wake the moment the holder
    is done. flock() is held per open file, so threads of one process queue on a lock of their own first.
    """

    def __init__(self, database_path: str):
        self._path = f"{database_path}-writer.lock"
        self._threads = threading.Lock()
        self._file = None
        self._pid = None

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._pid != os.getpid():  # opened again in each forked worker: its own open file
                self._file, self._pid = open(self._path, "a+b"), os.getpid()  # noqa: SIM115 (kept open)
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _sqlite_writer_lock(engine: Engine) -> SqliteWriterLock | None:
    """The engine's writer lock, when it is a SQLite file (an in-memory database has one connection)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    lock = _WRITER_LOCKS.get(engine.url.database)
    if lock is None:
        lock = _WRITER_LOCKS.setdefault(engine.url.database, SqliteWriterLock(engine.url.database))
    return lock


_WRITER_LOCKS: dict[str, SqliteWriterLock] = {}
