"""Liveness and readiness for load balancers: is the process up, can it reach what it needs."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import text

from app.extensions import db
from app.services.storage import StorageUnavailable, storage


def readiness() -> dict[str, str]:
    """"ok" or the reason, per dependency: the database, photo storage, and Redis when configured."""
    checks = {"database": _database(), "storage": _storage()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis(current_app.config["REDIS_URL"])
    return checks


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception as exc:  # any driver error means "not ready"; the reason is in the answer
        db.session.rollback()
        return f"unavailable: {type(exc).__name__}"


def _storage() -> str:
    try:
        storage().check()  # the upload folder is writable, or the bucket is there and ours
        return "ok"
    except StorageUnavailable as exc:
        return f"unavailable: {exc.reason}"


def _redis(url: str) -> str:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError as exc:
        return f"unavailable: {exc.strerror or type(exc).__name__}"
    # A password-protected Redis answers -NOAUTH: reachable, which is what readiness asks.
    return "ok" if reply.startswith((b"+PONG", b"-NOAUTH")) else f"unexpected reply: {reply[:20]!r}"
