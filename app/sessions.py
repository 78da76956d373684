"""Cookie sessions only where a cookie signs someone in: the admin and the public pages.

The mini program's API and the partner API authenticate every request by its own header (a bearer
token, an HMAC signature) and never read or write a session. Opening and saving the signed cookie
session anyway cost about a fifth of a bare request (a new itsdangerous serializer each time), so
under those prefixes the request gets Flask's null session, which Flask never saves.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

HEADER_AUTHENTICATED_PREFIXES = ("/api/", "/partner/")


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(HEADER_AUTHENTICATED_PREFIXES):
            return self.make_null_session(app)
        return super().open_session(app, request)
