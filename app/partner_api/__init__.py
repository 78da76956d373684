"""The signed partner API, /partner/v1, and the mini program's bindings to partners (on /api/v1)."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from app.api.openapi import ApiBlueprint

bp = ApiBlueprint("partner_api", __name__, url_prefix="/partner/v1")

from app.partner_api import bindings, events  # noqa: E402,F401  (routes; bindings go on the api blueprint)


def init_app(app: Flask) -> None:
    """Register the partner API, CSRF-exempt (signed requests, no cookies), in the app's OpenAPI document."""
    from app.extensions import csrf

    csrf.exempt(bp)
    app.security_schemes = {**(app.security_schemes or {}), events.SECURITY_SCHEME_NAME: events.SECURITY_SCHEME}
    app.register_api(bp)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _unrouted(exc: HTTPException):
        """An unknown path or method under /partner/ answers in the envelope too (routing errors reach
        no blueprint handler); anything else goes on to the app's own HTTPException handler."""
        if request.path.startswith(bp.url_prefix + "/"):
            return events.http_error(exc)
        handler = app.error_handler_spec[None][None].get(HTTPException)
        return handler(exc) if handler else exc
