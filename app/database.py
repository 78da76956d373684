"""Database engine set-up and the write transaction every service uses."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, event, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import make_transient_to_detached

from app.errors import DuplicateRecord, ServiceUnavailable
from app.extensions import db

class SerialisedJSON(list):
    """A JSON array kept with the text it was serialised to, so that a JSON column stores that text as it
    is (json_column_text) instead of serialising the array a second time: a trip's 14 kB track is
    serialised once, for its digest, and stored as the same text."""

    __slots__ = ("text",)

    def __init__(self, items: list, text: str):
        super().__init__(items)
        self.text = text


def json_column_text(value: Any) -> str:
    """The engines' json_serializer: a SerialisedJSON's own text, anything else as json.dumps writes it."""
    return value.text if isinstance(value, SerialisedJSON) else json.dumps(value)


def as_loaded(instance: Any) -> Any:
    """An object built from a row just read with a Core statement, as the session's own loaded object (the
    one it holds already for that key, if any): no query, and nothing to write at the next flush."""
    make_transient_to_detached(instance)
    return db.session.merge(instance, load=False)


def attach_as_loaded(*instances: Any) -> None:
    """Objects built from rows this transaction has just written with Core statements, attached to the
    session as if it had loaded them: readable without a query, and nothing to write at the next flush.
    Relationships set between them (or to objects the session holds) stay set."""
    for instance in instances:
        make_transient_to_detached(instance)
    db.session.add_all(instances)


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
        # Copy the WAL back into the database every 40,000 pages (160 MB) rather than 1,000: a checkpoint
        # costs mostly its fsyncs, and a page that many commits touch (an index tail, a busy band of the
        # leaderboard, an active user's rows) is written once per checkpoint. At 10,000 the checkpoints
        # took about 30% of crediting's time, at 40,000 about 20% (earnings 8-15% faster a second).
        cursor.execute("PRAGMA wal_autocheckpoint=40000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # On the driver's connection: exec_driver_sql() cost ~20 µs of SQLAlchemy around a 1 µs BEGIN.
        sql = "BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN"
        try:
            connection.connection.dbapi_connection.execute(sql)
        except sqlite3.Error as exc:  # raised as SQLAlchemy's own, as exec_driver_sql() did
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=connection.dialect) from exc


@contextmanager
def write_transaction() -> Iterator[None]:
    """One service call, one transaction: commit on success, roll back on any error.

    Nested calls join the outer transaction (the idempotency layer wraps a whole request in one).
    On SQLite the transaction starts with BEGIN IMMEDIATE so that read-check-write sequences are
    serialised; on PostgreSQL and MariaDB services use conditional updates and row locks.
    A unique-constraint violation (the database's own guard against double credits) becomes
    409 duplicate_record, never a 500.
    """
    session = db.session()  # the scope's own Session, not the proxy
    if session.info.get("in_write_transaction"):
        yield
        return
    # End any read transaction opened earlier in the request (e.g. by token lookup). With none open and
    # nothing changed since the last commit, committing would only build and close an empty transaction.
    if session.in_transaction() or session.identity_map.check_modified():
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
                self._file, self._pid = open(self._path, "a+b"), os.getpid()  # kept open: the lock lives on it
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


@dataclass(frozen=True)
class CompiledStatement:
    """A Core statement compiled for one dialect, with what running it on a driver cursor needs: its
    parameters in order with their types' bind processors, and the result columns that need converting
    (Decimal minor units, UTC times). Shared by app.reads (reads) and Write (the hot writes)."""

    sql: str
    positional: bool  # qmark/format paramstyles take a tuple, in the order of `binds`
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # each parameter and its bind processor
    defaults: dict[str, Any]  # the statement's own values (literals in it)
    result: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, processor) where one is needed
    returns_id: bool = False  # an INSERT compiled with RETURNING of its key, where the driver has no lastrowid

    def args(self, params: Mapping[str, Any] | None):
        """The driver's parameters for `params` (the statement's own values filled in, types applied)."""
        params = self.defaults | dict(params or {}) if self.defaults else (params or {})
        if self.positional:
            return tuple([params[name] if process is None else process(params[name])
                          for name, process in self.binds])
        return {name: params[name] if process is None else process(params[name]) for name, process in self.binds}

    def converted(self, found: Sequence[Sequence[Any]]) -> list[tuple]:
        """The driver's rows with each column as its type reads it."""
        if not self.result:
            return [tuple(row) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for index, process in self.result:
                values[index] = process(values[index])
            rows.append(tuple(values))
        return rows


def compile_statement(statement, dialect: Dialect, *, returns_id: bool = False) -> CompiledStatement:
    if returns_id:
        statement = statement.returning(*statement.table.primary_key.columns)
    compiled = statement.compile(dialect=dialect)
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names)
    defaults = {name: parameter.effective_value for name, parameter in compiled.binds.items()
                if not parameter.required}
    result = tuple((index, process) for index, column in enumerate(statement.exported_columns)
                   if (process := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    return CompiledStatement(compiled.string, compiled.positional, binds, defaults, result, returns_id)


class Write:
    """A Core statement on the hot write path, compiled once per dialect and run on the driver cursor of
    the write transaction's own connection.

    Through Connection.execute() a statement cost ~40 µs of SQLAlchemy's execution machinery (context,
    events, result object) around an index lookup SQLite does in a few; crediting an earning runs four.
    Binds and results go through the column types' own processors, as everywhere else; a driver error is
    raised as SQLAlchemy's (IntegrityError, OperationalError …), the connection invalidated when it broke,
    so write_transaction maps it exactly as before.
    """

    def __init__(self, statement, *, inserts_id: bool = False):
        self.statement = statement
        self.inserts_id = inserts_id  # an INSERT whose new key insert_id() returns
        self._compiled: dict[str, CompiledStatement] = {}

    @classmethod
    def insert(cls, table: Table, columns: Sequence[str], *, inserts_id: bool = False) -> Write:
        """An INSERT into `table` of `columns`, each bound by its own name with its column's type."""
        return cls(insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in columns}),
                   inserts_id=inserts_id)

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run the statement; returns the rows it matched."""
        return self._run(connection, params, lambda cursor: cursor.rowcount)

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Run the statement; returns its rows (a SELECT's, or an UPDATE's RETURNING)."""
        found = self._run(connection, params, lambda cursor: cursor.fetchall())
        return self._for(connection.dialect).converted(found)

    def insert_id(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run the INSERT; returns the new row's key."""
        returns_id = self._for(connection.dialect).returns_id
        return self._run(connection, params, lambda cursor: cursor.fetchone()[0] if returns_id else cursor.lastrowid)

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        self._run(connection, rows, None, many=True)

    def _run(self, connection: Connection, params, answer, *, many: bool = False):
        dialect = connection.dialect
        compiled = self._for(dialect)
        args = [compiled.args(one) for one in params] if many else compiled.args(params)
        dbapi_connection = connection.connection.dbapi_connection
        dbapi_error = dialect.loaded_dbapi.Error
        cursor = dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(compiled.sql, args)
                return None
            cursor.execute(compiled.sql, args)
            return answer(cursor)
        except dbapi_error as exc:
            broken = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if broken:
                connection.invalidate(exc)
            raise DBAPIError.instance(compiled.sql, args, exc, dbapi_error, connection_invalidated=broken,
                                      dialect=dialect) from exc
        finally:
            try:
                cursor.close()
            except dbapi_error:
                pass  # the connection broke: invalidated above

    def _for(self, dialect: Dialect) -> CompiledStatement:
        made = self._compiled.get(dialect.name)
        if made is None:
            made = compile_statement(self.statement, dialect,
                                     returns_id=self.inserts_id and not dialect.postfetch_lastrowid)
            self._compiled[dialect.name] = made
        return made
