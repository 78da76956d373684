"""Settings for development, testing and production, read from the environment (and an optional .env)."""

from __future__ import annotations

import os
from decimal import Decimal


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_decimal(name: str, default: str) -> Decimal:
    return Decimal(os.environ.get(name, default))


class Config:
    """Shared settings. DATABASE_URL, SECRET_KEY and UPLOAD_DIR default per instance in create_app."""

    ENV_NAME = "production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Seconds to reach PostgreSQL/MySQL before answering 503 service_unavailable.
    DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    # Seconds a statement (a lock wait included) may take before it is cancelled and the request answers
    # 503; 0 = no limit. gunicorn.conf.py sets it for web workers only, so migrations and cron jobs, which
    # may rightly run for minutes, keep no limit.
    DATABASE_STATEMENT_TIMEOUT = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT", "0"))
    SECRET_KEY = os.environ.get("SECRET_KEY")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR")
    # Photos in an S3-compatible bucket instead of UPLOAD_DIR (needed with several app servers): set
    # S3_BUCKET. Tencent COS: S3_ENDPOINT_URL=https://cos.<region>.myqcloud.com, S3_REGION=<region>;
    # MinIO: its URL and S3_ADDRESSING_STYLE=path; AWS: S3_REGION only. Keys unset: boto3's own chain.
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")
    S3_REGION = os.environ.get("S3_REGION")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "virtual")  # or "path"
    # (connect, read) seconds: an unreachable bucket answers 503 quickly instead of holding a worker.
    S3_TIMEOUT = (3.05, float(os.environ.get("S3_READ_TIMEOUT", "10")))
    REDIS_URL = os.environ.get("REDIS_URL")
    # "json": one JSON object per log line, for log collectors; "text": for people reading a terminal.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
    WECHAT_APPID = os.environ.get("WECHAT_APPID")
    WECHAT_SECRET = os.environ.get("WECHAT_SECRET")
    WECHAT_DEV_LOGIN = _env_bool("WECHAT_DEV_LOGIN")
    # Subscribe-message template for review outcomes (thing1 kind, phrase2 outcome, thing3 note); none: no message.
    WECHAT_REVIEW_TEMPLATE_ID = os.environ.get("WECHAT_REVIEW_TEMPLATE_ID")
    # Weekly digest template (number1 the week's grams, thing2 the top suggestion, date3 the week's last day);
    # none: `flask send-digest` sends nothing.
    WECHAT_DIGEST_TEMPLATE_ID = os.environ.get("WECHAT_DIGEST_TEMPLATE_ID")
    # The public dashboard's figures are computed at most once per this many seconds per worker.
    STATS_CACHE_SECONDS = int(os.environ.get("STATS_CACHE_SECONDS", "30"))
    # (connect, read) seconds: a WeChat outage must never hold a worker for long.
    WECHAT_TIMEOUT = (3.05, float(os.environ.get("WECHAT_READ_TIMEOUT", "5")))

    APP_TIMEZONE = os.environ.get("APP_TIMEZONE", "Asia/Shanghai")
    POINTS_PER_GRAM = _env_decimal("POINTS_PER_GRAM", "0.1")

    PRIVACY_POLICY_VERSION = os.environ.get("PRIVACY_POLICY_VERSION", "2026-11-01")
    PRIVACY_POLICY_URL = os.environ.get("PRIVACY_POLICY_URL", "/privacy")
    TOKEN_TTL_DAYS = int(os.environ.get("TOKEN_TTL_DAYS", "30"))
    IDEMPOTENCY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_TTL_HOURS", "24"))
    # A claimed key whose request never finished (worker killed) may be retried after this long; safe
    # because the request's writes and its stored answer commit together or not at all.
    IDEMPOTENCY_STALE_SECONDS = int(os.environ.get("IDEMPOTENCY_STALE_SECONDS", "120"))

    TRACK_RETENTION_DAYS = int(os.environ.get("TRACK_RETENTION_DAYS", "90"))
    # Photo files of decided (credited/rejected) records are erased this many days after the decision by
    # `flask purge`; the record, its points and the photo's fingerprints stay. 0: kept for ever.
    PHOTO_RETENTION_DAYS = int(os.environ.get("PHOTO_RETENTION_DAYS", "180"))
    # Credited kilometres per mode per local day: generous for real commuters, useless to farmers.
    TRIP_DAILY_CAP_KM = {
        "bike": _env_decimal("TRIP_DAILY_CAP_KM_BIKE", "60"),
        "bus": _env_decimal("TRIP_DAILY_CAP_KM_BUS", "120"),
        "subway": _env_decimal("TRIP_DAILY_CAP_KM_SUBWAY", "120"),
    }
    TRIP_DAILY_CAP_COUNT = int(os.environ.get("TRIP_DAILY_CAP_COUNT", "12"))

    MAX_PHOTO_BYTES = int(os.environ.get("MAX_PHOTO_BYTES", str(10 * 1024 * 1024)))
    MAX_PHOTO_PIXELS = int(os.environ.get("MAX_PHOTO_PIXELS", str(50_000_000)))
    # Photo records per local day (pending and credited; rejected ones do not count). Meals are
    # limited by their slots: one breakfast, lunch and dinner a day.
    PHOTO_DAILY_CAP = {
        "sorting": int(os.environ.get("PHOTO_DAILY_CAP_SORTING", "3")),
        "recycling": int(os.environ.get("PHOTO_DAILY_CAP_RECYCLING", "5")),
    }

    # Web admin: staff sessions, and throttling of failed logins per name and per IP in a sliding window.
    STAFF_SESSION_HOURS = int(os.environ.get("STAFF_SESSION_HOURS", "12"))
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", "15"))
    LOGIN_MAX_FAILURES_PER_USERNAME = int(os.environ.get("LOGIN_MAX_FAILURES_PER_USERNAME", "5"))
    LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "20"))
    # How many reverse proxies (nginx) stand in front of the app: their X-Forwarded-For/-Proto/-Host
    # are trusted that many hops deep. 0: none trusted (clients talk to gunicorn directly).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # GET /me and the leaderboard answered before Flask's request machinery (app/hot_reads.py): the same
    # answers for a third to a half less CPU. 0 sends them through Flask like every other request.
    HOT_READS = _env_bool("HOT_READS", True)

    # API rate limits (app/ratelimit.py), in Flask-Limiter's notation ("N/minute;M/day"). Counted per
    # signed-in user, or per client IP where said; a request without a valid token counts per IP.
    # Mobile carriers put many users behind one IP (CGNAT), so per-IP limits stay generous.
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "10/minute")
    RATELIMIT_PHOTO_UPLOADS_PER_USER = os.environ.get("RATELIMIT_PHOTO_UPLOADS_PER_USER", "20/minute;200/day")
    RATELIMIT_WRITES_PER_USER = os.environ.get("RATELIMIT_WRITES_PER_USER", "60/minute")
    RATELIMIT_WRITES_PER_IP = os.environ.get("RATELIMIT_WRITES_PER_IP", "600/minute")
    RATELIMIT_PARTNER_PER_IP = os.environ.get("RATELIMIT_PARTNER_PER_IP", "3000/minute")
    RATELIMIT_STRATEGY = os.environ.get("RATELIMIT_STRATEGY", "fixed-window")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "carbon")

    # Friends and leaderboards: how long a share-card invite code stays valid, and the most friends one may have.
    FRIEND_INVITE_TTL_DAYS = int(os.environ.get("FRIEND_INVITE_TTL_DAYS", "7"))
    FRIENDS_MAX = int(os.environ.get("FRIENDS_MAX", "500"))

    JSON_SORT_KEYS = False
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL")
    SECRET_KEY = "testing-secret-key-not-for-production"
    WECHAT_DEV_LOGIN = True
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # The suite logs in and writes fast from one address: limits stay on (every request passes through
    # them) but out of reach. tests/test_rate_limits.py sets real ones on apps of its own.
    RATELIMIT_LOGIN_PER_IP = RATELIMIT_WRITES_PER_IP = RATELIMIT_WRITES_PER_USER = "100000/minute"
    RATELIMIT_PHOTO_UPLOADS_PER_USER = RATELIMIT_PARTNER_PER_IP = "100000/minute"


class ProductionConfig(Config):
    ENV_NAME = "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
