"""Login, logout, and the bearer-token guard every other endpoint uses."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import current_app, g, request
from pydantic import Field

from app.api import bp
from app.api.openapi import refuses
from app.api.schemas import Request, Response, UserOut, user_json
from app.errors import ConsentRequired, InvalidCode, RateLimited, WechatRiskBlocked, WechatUnavailable
from app.services import users


def bearer_token() -> str | None:
    return bearer_token_in(request.headers.get("Authorization", ""))


def bearer_token_in(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header's value."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def login_required(view):
    """The signed-in user in g.current_user, or 401. The token is checked before the request is
    validated (see _authenticate), so a caller without one learns nothing but 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if "current_user" not in g:
            g.current_user = users.authenticate(bearer_token())
        return view(*args, **kwargs)

    wrapper.requires_login = True  # read by _authenticate and by the OpenAPI document (bearer security)
    return wrapper


@bp.before_request
def _authenticate():
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "requires_login", False) and request.method != "OPTIONS" and "current_user" not in g:
        g.current_user = users.authenticate(bearer_token())  # unless the rate limiter already did


class LoginIn(Request):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login")
    privacy_version: str | None = Field(None, max_length=32,
                                        description="the privacy policy version the user agreed to")


class LoginOut(Response):
    token: str
    expires_at: datetime
    user: UserOut
    is_new: bool


@bp.post("/auth/login", responses={200: LoginOut})
@refuses(InvalidCode, ConsentRequired, WechatRiskBlocked, RateLimited, WechatUnavailable)
def login(body: LoginIn):
    """Exchange a wx.login code for a bearer token (428 consent_required until the current policy is agreed)"""
    result = users.login(body.code, body.privacy_version)
    return {"token": result.token, "expires_at": result.expires_at.isoformat(),
            "user": user_json(result.user), "is_new": result.is_new}


@bp.post("/auth/logout", responses={204: None})
@login_required
def logout():
    """Revoke the token"""
    users.logout(bearer_token())
    return "", 204
