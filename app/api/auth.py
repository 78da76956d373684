"""Login, logout, and the bearer-token guard every other endpoint uses."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from app.api import bp
from app.api.schemas import json_body, user_json
from app.services import users


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.current_user = users.authenticate(bearer_token())
        return view(*args, **kwargs)

    return wrapper


@bp.post("/auth/login")
def login():
    body = json_body(required={"code": str}, optional={"privacy_version": str})
    result = users.login(body["code"], body.get("privacy_version"))
    return {"token": result.token, "expires_at": result.expires_at.isoformat(),
            "user": user_json(result.user), "is_new": result.is_new}


@bp.post("/auth/logout")
@login_required
def logout():
    users.logout(bearer_token())
    return "", 204
