"""Hot reads: the token check, GET /me and the boards, on a driver connection each worker thread keeps.

Through the ORM session one of these reads cost ~130 µs of SQLAlchemy work (session, pool checkout
with its pre-ping, transaction, ORM rows) around a query SQLite answers in 4 µs. A `Read` is a Core
select compiled once per dialect and run on the thread's own driver connection, with the column types'
own bind and result processors (so Decimal minor units and UTC times come back as everywhere else):
about 10 µs on SQLite. The connection is in autocommit mode, so it never holds a transaction (nor, on
SQLite, a WAL snapshot) between requests, and every read sees what has been committed. Writes never
use it: they go through the session and write_transaction as before.

A read that fails because the connection broke (a database restart, a dropped TCP connection) is
retried once on a new connection; if the database is still away, the error is SQLAlchemy's
DBAPIError, which the API answers with 503 as for any other database failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError

from app.database import CompiledStatement, compile_statement
from app.extensions import db

_held = threading.local()
# This process's id, renewed in a forked child: os.getpid() is a system call, asked on every read.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


class Read:
    """A read-only Core select, compiled once per dialect and run on the thread's held connection."""

    def __init__(self, statement: Select):
        self.statement = statement
        self._compiled: dict[str, CompiledStatement] = {}

    def rows(self, params: Mapping[str, Any] | None = None) -> list[tuple]:
        engine = db.engine
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            compiled = self._compiled[engine.dialect.name] = compile_statement(self.statement, engine.dialect)
        return compiled.converted(_run(engine, compiled.sql, compiled.args(params)))

    def first(self, params: Mapping[str, Any] | None = None) -> tuple | None:
        found = self.rows(params)
        return found[0] if found else None


def _run(engine: Engine, sql: str, args) -> list[tuple]:
    dbapi_error = engine.dialect.loaded_dbapi.Error
    for attempt in (1, 2):
        connection = cursor = None
        try:
            connection = _connection(engine)
            cursor = connection.dbapi_connection.cursor()
            cursor.execute(sql, args)
            return cursor.fetchall()
        except dbapi_error as exc:
            broken = connection is None or engine.dialect.is_disconnect(exc, connection.dbapi_connection, cursor)
            _discard(engine)
            if not broken or attempt == 2 or connection is None:
                raise DBAPIError.instance(sql, args, exc, dbapi_error, connection_invalidated=broken,
                                          dialect=engine.dialect) from exc
        finally:
            if cursor is not None:
                try:
                    cursor.close()
                except dbapi_error:
                    pass  # the connection is being discarded already
    raise AssertionError("unreachable")


class _ThreadConnections(dict):
    """One thread's held connections (engine -> driver connection, detached from the pool, so that the
    pool never hands out a connection left in autocommit mode). They are closed when the thread ends
    (the development server runs each request on a thread of its own), but not in a forked child
    (gunicorn --preload), where the sockets still belong to the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.pid = _pid

    def __del__(self) -> None:
        if self.pid == _pid:
            for connection in self.values():
                try:
                    connection.close()
                except Exception:  # a connection already broken: nothing left to close
                    pass


def _connection(engine: Engine):
    held = getattr(_held, "connections", None)
    if held is None or held.pid != _pid:
        held = _held.connections = _ThreadConnections()
    connection = held.get(engine)
    if connection is None:
        connection = engine.raw_connection()  # the pool's connect hooks (SQLite pragmas) have run
        connection.detach()
        if engine.dialect.name != "sqlite":  # SQLite's already runs each statement on its own
            engine.dialect.set_isolation_level(connection.dbapi_connection, "AUTOCOMMIT")
        held[engine] = connection
    return connection


def _discard(engine: Engine) -> None:
    connection = getattr(_held, "connections", {}).pop(engine, None)
    if connection is not None:
        connection.invalidate()
