"""Structured logs: one line per event (a JSON object when LOG_FORMAT=json), each carrying the id of the
request it belongs to, and one access line per request written by the app itself."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, g, has_app_context, request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
ACCESS_LOGGER = "app.access"
# What an access line adds to the standard fields. Never headers, query strings, bodies or tokens.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id", "staff_id")


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request's id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # g belongs to the app context: the API's hot reads (app/hot_reads.py) have no request context.
        record.request_id = g.get("request_id") if has_app_context() else None
        return True


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", "request_id", ...access fields, "exception"?} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for field in ACCESS_FIELDS:
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s request_id=%(request_id)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or "-"
        return super().format(record)


_PROBES = frozenset({"/healthz", "/readyz"})


def configure_logging(app: Flask) -> None:
    """One handler on the root logger (so every module's logger goes through it), in the app's format.

    Logging is per process: when several apps are built in one process (tests), the last one's
    LOG_FORMAT applies to all.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else TextFormatter())
    root.setLevel(logging.INFO)
    # urllib3 at DEBUG logs WeChat's request line, which carries the app secret.
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    @app.before_request
    def _assign_request_id():
        g.request_started = time.perf_counter()
        g.request_id = request_id_for(request.environ)

    @app.after_request
    def _log_and_echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        method, path, status = request.method, request.path, response.status_code
        if path in _PROBES and status < 400:
            return response  # a load balancer asks every few seconds: only failures are news
        log_access(method, path, status, g.get("request_started"), _identity(g.get("current_user")),
                   _identity(g.get("_login_user")))  # flask-login's loaded staff member
        return response


def request_id_for(environ: dict) -> str:
    """The caller's X-Request-ID when it is a sane one (nginx's $request_id), else a new one; the same
    one every time for one request."""
    request_id = environ.get(_REQUEST_ID_KEY)
    if request_id is None:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = environ[_REQUEST_ID_KEY] = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()
    return request_id


_REQUEST_ID_KEY = "carbon.request_id"


_access = logging.getLogger(ACCESS_LOGGER)


def log_access(method: str, path: str, status: int, started: float | None, user_id: int | None,
               staff_id: int | None) -> None:
    """The request's access line; `started` is its time.perf_counter() on arrival."""
    if not _access.isEnabledFor(logging.INFO):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    fields = {"method": method, "path": path, "status": status, "duration_ms": duration_ms,
              "user_id": user_id, "staff_id": staff_id}
    # handle(makeRecord()) is what info() does, less its walk up the stack for the caller's line,
    # which an access line never shows.
    _access.handle(_access.makeRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, "%s %s %s %sms",
                                      (method, path, status, duration_ms), None, extra=fields))


def _identity(instance: object) -> int | None:
    """The primary key of a loaded row, read without touching the database (which may be down)."""
    if instance is None:
        return None
    state = sa.inspect(instance, raiseerr=False)
    if state is None:  # not an ORM object: the API's signed-in user (users.SignedInUser)
        return getattr(instance, "id", None)
    identity = getattr(state, "identity", None)
    return identity[0] if identity else None
