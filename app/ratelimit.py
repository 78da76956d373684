"""API rate limits (Flask-Limiter): per user and per IP on login, photo uploads and writes → 429 rate_limited.

Which limits a request counts against is decided here from its endpoint name and method, not by
decorating views, so the limits hold whatever wraps the view functions (flask-openapi3 does).
Counters live in Redis when REDIS_URL is set, shared by every worker and server; without it they live in
each worker's memory, so N workers (or servers) together allow N times each limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from app.api.auth import bearer_token
from app.api.errors import domain_error_response
from app.errors import RateLimited, Unauthorized
from app.services.users import authenticate

LOGIN = "api.login"
PHOTO_UPLOADS = frozenset({"api.upload_photo"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Redis answers in well under a millisecond; one that does not answer must not hold a worker.
_REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


@dataclass(frozen=True)
class Rule:
    """One limit: the requests it counts (by endpoint, and whether the request writes), who it counts
    (the signed-in user, or the client's IP), and the setting holding its rate."""

    scope: str
    setting: str
    per_user: bool
    counts: Callable[[str, bool], bool]


RULES = (
    Rule("login", "RATELIMIT_LOGIN_PER_IP", per_user=False,
         counts=lambda endpoint, writes: endpoint == LOGIN),
    Rule("photo_uploads", "RATELIMIT_PHOTO_UPLOADS_PER_USER", per_user=True,
         counts=lambda endpoint, writes: endpoint in PHOTO_UPLOADS),
    Rule("writes", "RATELIMIT_WRITES_PER_USER", per_user=True,
         counts=lambda endpoint, writes: writes and endpoint != LOGIN),
    Rule("writes_per_ip", "RATELIMIT_WRITES_PER_IP", per_user=False,
         counts=lambda endpoint, writes: writes),
    # Partners push from their own servers, before any signature is checked: counted per IP.
    Rule("partner", "RATELIMIT_PARTNER_PER_IP", per_user=False,
         counts=lambda endpoint, writes: endpoint.startswith("partner_api.")),
)


def init_rate_limits(app: Flask) -> None:
    """Bind a limiter of its own to this app (tests build several apps with different limits)."""
    if not app.config["RATELIMIT_ENABLED"]:
        return
    redis_url = app.config.get("REDIS_URL")
    # Registered first, so it runs before the limiter's own before_request hook.
    app.before_request(_select_rules)
    limiter = _CountedRequestsLimiter(
        _client_ip,
        application_limits=[ApplicationLimit(limit_provider=_rate_for(rule), scope=rule.scope,
                                             key_function=_user_key if rule.per_user else _ip_key)
                            for rule in RULES],
        storage_uri=redis_url or "memory://",
        storage_options=_REDIS_TIMEOUTS if redis_url else {},
        strategy=app.config["RATELIMIT_STRATEGY"],
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        # Redis down: log a warning and count in this worker's memory until it is back (checked with
        # backoff); should even that fail, let the request through rather than answer 500.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # Retry-After goes on the 429 only, not on every success
    )
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):
        retry_after = _seconds_until_reset(limiter, exc)
        response, status = domain_error_response(RateLimited(details={
            "limit": str(exc.limit.limit), "retry_after": retry_after}))
        response.headers["Retry-After"] = str(retry_after)
        return response, status


class _CountedRequestsLimiter(Limiter):
    """Flask-Limiter, consulted only for requests that some rule counts.

    Its before_request check (this method; init_app registers it) resolves exemptions and limit groups
    on every request, a fair share of a fast read's time; reads are never limited, so they skip it.
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if g.get("rate_limit_scopes"):
            super()._check_request_limit(callable_name, in_middleware)


def _select_rules() -> None:
    """The rules this request counts against and, when one counts per user, the bearer token's user
    (through the same lookup login_required uses)."""
    endpoint = request.endpoint or ""
    writes = endpoint.startswith("api.") and request.method not in _SAFE_METHODS
    counted = [rule for rule in RULES if rule.counts(endpoint, writes)]
    g.rate_limit_scopes = frozenset(rule.scope for rule in counted)
    if any(rule.per_user for rule in counted):
        try:
            # Kept for the view: login_required and the API's token check reuse it, one lookup a request.
            g.current_user = authenticate(bearer_token())
        except Unauthorized:
            pass  # the view answers 401; meanwhile it counts per IP


def _rate_for(rule: Rule) -> Callable[[], str]:
    # An empty rate: the rule does not count this request.
    return lambda: current_app.config[rule.setting] if rule.scope in g.get("rate_limit_scopes", ()) else ""


def _client_ip() -> str:
    # Behind nginx, ProxyFix (TRUSTED_PROXIES) has already put the client's address here.
    return request.remote_addr or "unknown"


def _ip_key() -> str:
    return f"ip:{_client_ip()}"


def _user_key() -> str:
    user = g.get("current_user")
    return f"user:{user.id}" if user is not None else _ip_key()


def _seconds_until_reset(limiter: Limiter, exc: RateLimitExceeded) -> int:
    breached = limiter.current_limit
    try:
        reset_time = breached.window.reset_time if breached else None
    except Exception:  # storage gone since the hit: the whole window is the safe answer
        reset_time = None
    if reset_time is None:
        return exc.limit.limit.get_expiry()
    return max(1, math.ceil(reset_time - time.time()))
