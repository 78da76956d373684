"""The personal carbon account platform (个人碳账户): create_app builds the Flask app."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    from app.api.openapi import ApiApp  # Flask, plus the API's OpenAPI document from its request models
    app = ApiApp(__name__, instance_relative_config=True)
    config_name = config_name or os.environ.get("APP_ENV", "production")
    if config_name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {sorted(CONFIGS)}, not {config_name!r}")
    app.config.from_object(CONFIGS[config_name])
    app.config.update(overrides or {})
    _apply_instance_defaults(app)
    _refuse_unsafe_production(app)

    from app.json import DecimalJSONProvider
    app.json = DecimalJSONProvider(app)
    from app.sessions import PagesOnlySessionInterface
    app.session_interface = PagesOnlySessionInterface()

    from app.extensions import csrf, db, migrate
    from app import models  # noqa: F401  (registers the tables)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    with app.app_context():
        from app.database import configure_engine
        configure_engine(db.engine)

    from app.services.wechat import WechatClient
    app.extensions["wechat"] = WechatClient(
        app.config["WECHAT_API_BASE"], app.config["WECHAT_APPID"], app.config["WECHAT_SECRET"],
        timeout=app.config["WECHAT_TIMEOUT"])

    from app.logs import configure_logging
    configure_logging(app)

    from app import admin, api, partner_api, public  # partner_api first adds its binding routes to api.bp
    from app.api.errors import register_error_handlers
    csrf.exempt(api.bp)  # bearer tokens, not cookies: no CSRF surface; the admin keeps CSRF
    app.register_api(api.bp, url_prefix="/api/v1")  # register_blueprint, plus its OpenAPI paths
    app.register_blueprint(admin.bp, url_prefix="/admin")
    admin.init_app(app)
    app.register_blueprint(public.bp)
    partner_api.init_app(app)  # /partner/v1, HMAC-signed (no cookies, so CSRF-exempt), in the OpenAPI document
    register_error_handlers(app)
    from app.ratelimit import init_rate_limits
    init_rate_limits(app)

    from app.cli import register_commands
    register_commands(app)

    if app.config["HOT_READS"]:
        from app.hot_reads import HotReads
        from app.api.account import me_json_for_token
        from app.api.friends import BoardQuery, board_json_for_token
        app.wsgi_app = HotReads(app, app.wsgi_app, {"api.me": (None, me_json_for_token),
                                                    "api.show_leaderboard": (BoardQuery, board_json_for_token)})
    if app.config["TRUSTED_PROXIES"]:
        # Behind nginx: the client's address (login throttling, logs) and scheme come from its headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _apply_instance_defaults(app: Flask) -> None:
    """Development defaults that live in instance/: a SQLite file, uploads, a generated key."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'carbon.db'}"
    statement_timeout = app.config["DATABASE_STATEMENT_TIMEOUT"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The pool-pre-ping query is pointless on a file; a long busy timeout serialises writers.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": statement_timeout or 30}}
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("mysql"):
        # PostgreSQL's default isolation, so locked checks and conditional updates behave alike on
        # both: each statement sees what committed before it, and no gap locks deadlock inserts.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   "isolation_level": "READ COMMITTED"}
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database host that vanishes costs a request a few seconds (then 503), never a hung worker.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": {
            "connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"],
            **_statement_timeout_args(app.config["SQLALCHEMY_DATABASE_URI"], statement_timeout),
            **options.get("connect_args", {})}}
    from app.database import json_column_text
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                               "json_serializer": json_column_text}
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    if not app.config.get("SECRET_KEY") and app.config["ENV_NAME"] == "development":
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()


def _statement_timeout_args(url: str, seconds: int) -> dict:
    """Connection settings that cancel a statement, or a wait for a lock, after `seconds`: the request
    answers 503 instead of holding its worker until gunicorn kills it (a stuck lock, a runaway query)."""
    if not seconds:
        return {}
    if url.startswith("postgresql"):
        return {"options": f"-c statement_timeout={seconds * 1000}"}
    # MySQL/MariaDB: waits for row locks (the common stall); statements themselves have no portable limit.
    return {"init_command": f"SET SESSION innodb_lock_wait_timeout = {seconds}"}


def _refuse_unsafe_production(app: Flask) -> None:
    if app.config["WECHAT_DEV_LOGIN"] and not (app.debug or app.testing):
        raise RuntimeError("WECHAT_DEV_LOGIN=1 is refused outside development and testing")
    if not app.config.get("SECRET_KEY") or len(app.config["SECRET_KEY"]) < 16:
        raise RuntimeError("SECRET_KEY must be set (at least 16 characters) outside development")
