"""One error envelope for every API failure: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from app.errors import DomainError, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("unauthorized", "未登录或登录已过期"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("file_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify({"error": body}), status


def domain_error_response(exc: DomainError):
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return domain_error_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not _is_api_request():
            return exc
        code, message = _HTTP_CODES.get(exc.code or 500, ("http_error", exc.name))
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(DataError)
    def _unstorable_value(exc: DataError):
        # The database refused a value the request carried (a NUL byte in PostgreSQL text, a number out
        # of a column's range): bad input, not an outage.
        log.warning("database refused a value: %s", exc.orig)
        return domain_error_response(ValidationFailed(details={"problem": "a value the database cannot store"}))

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database_down(exc: Exception):
        log.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
        return domain_error_response(ServiceUnavailable())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _is_api_request():
            return "Internal Server Error", 500
        return error_response(500, "internal_error", "服务器内部错误",
                              {"request_id": g.get("request_id")})
