"""Database engine set-up and the write transaction every service uses."""

from __future__ import annotations

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
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
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
    token = _begin_immediate.set(True)
    session.info["in_write_transaction"] = True
    try:
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
        if token is not None:
            _begin_immediate.reset(token)
        session.info["in_write_transaction"] = False

