"""WeChat login with recorded consent, bearer tokens, and the user's own profile."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from app import reads
from app.database import write_transaction
from app.errors import ConsentRequired, Unauthorized, ValidationFailed
from app.extensions import db
from app.models import AuthToken, Consent, User
from app.models.types import utcnow
from app.services.ledger import open_account

_DEV_CODE = re.compile(r"^dev:([A-Za-z0-9_-]{1,40})$")
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: User
    is_new: bool


def login(code: str, privacy_version: str | None) -> LoginResult:
    """Exchange a wx.login code for our own token; refuse before storing anything without consent."""
    current_version = current_app.config["PRIVACY_POLICY_VERSION"]
    if privacy_version != current_version:
        raise ConsentRequired(details={"privacy_version": current_version,
                                       "policy_url": current_app.config["PRIVACY_POLICY_URL"]})
    openid, unionid, session_key = _exchange_code(code)
    with write_transaction():
        user = db.session.scalar(select(User).where(User.openid == openid))
        is_new = user is None
        now = utcnow()
        if user is None:
            user = User(openid=openid, privacy_version=current_version, consented_at=now)
            db.session.add(user)
            db.session.flush()
            open_account(user.id)
        if is_new or user.privacy_version != current_version:
            db.session.add(Consent(user_id=user.id, version=current_version, consented_at=now))
        user.privacy_version, user.consented_at = current_version, now
        user.unionid = unionid or user.unionid
        user.session_key = session_key
        token, expires_at = _issue_token(user.id, now)
    return LoginResult(token=token, expires_at=expires_at, user=user, is_new=is_new)


def _exchange_code(code: str) -> tuple[str, str | None, str | None]:
    dev = _DEV_CODE.match(code)
    if dev and current_app.config["WECHAT_DEV_LOGIN"]:
        return f"dev_{dev.group(1)}", None, None
    session = current_app.extensions["wechat"].code_to_session(code)
    return session.openid, session.unionid, session.session_key


def _issue_token(user_id: int, now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=current_app.config["TOKEN_TTL_DAYS"])
    db.session.add(AuthToken(user_id=user_id, token_hash=_hash(token), created_at=now,
                             expires_at=expires_at))
    return token, expires_at


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Whom a live bearer token belongs to: what the API reads of them, without an ORM object."""

    id: int
    nickname: str | None
    avatar_url: str | None
    city: str | None
    created_at: datetime


def authenticate(token: str | None) -> SignedInUser:
    """The user behind a live bearer token; a missing, malformed, expired or revoked one is 401."""
    user, _ = authenticate_with(token, _USER_OF_LIVE_TOKEN)
    return user


def authenticate_with(token: str | None, read: reads.Read, params: dict | None = None) -> tuple[SignedInUser, tuple]:
    """The token checked by a read built on SIGNED_IN (the signed-in user's columns first, then its own), so
    that a read that needs the user answers in the same round trip: the user, and the rest of the row."""
    row = read.first({**token_params(token), **(params or {})})
    if row is None:
        raise Unauthorized()
    return SignedInUser(*row[:_SIGNED_IN_COLUMNS]), row[_SIGNED_IN_COLUMNS:]


def token_params(token: str | None) -> dict:
    """The binds of SIGNED_IN for a bearer token; a missing or malformed one is 401 before any read."""
    if not token or not _TOKEN_SHAPE.match(token):
        raise Unauthorized()
    return {"token_hash": _hash(token), "now": utcnow()}


# Built once: every API request runs it. Expiry, revocation and deletion are all decided by the one query.
_USERS, _TOKENS = User.__table__, AuthToken.__table__
SIGNED_IN = (
    select(_USERS.c.id, _USERS.c.nickname, _USERS.c.avatar_url, _USERS.c.city, _USERS.c.created_at)
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None),
           _TOKENS.c.expires_at > bindparam("now", type_=_TOKENS.c.expires_at.type),
           _USERS.c.deleted_at.is_(None)))
_SIGNED_IN_COLUMNS = len(SignedInUser.__slots__)
_USER_OF_LIVE_TOKEN = reads.Read(SIGNED_IN)
# Their id, as a subquery that a read about them can check the token with (no other table's rows in it).
SIGNED_IN_ID = SIGNED_IN.with_only_columns(_USERS.c.id).correlate(None).scalar_subquery()


def logout(token: str) -> None:
    with write_transaction():
        db.session.execute(update(AuthToken)
                           .where(AuthToken.token_hash == _hash(token), AuthToken.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))


PROFILE_LIMITS = {"nickname": 64, "avatar_url": 512, "city": 64}


def update_profile(user_id: int, changes: dict) -> User:
    unknown = sorted(set(changes) - set(PROFILE_LIMITS))
    if unknown:
        raise ValidationFailed("不支持修改这些字段", details={"unknown_fields": unknown})
    for field, value in changes.items():
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(details={"field": field, "problem": "must be a string or null"})
        if value is not None:
            value = value.strip()
            if len(value) > PROFILE_LIMITS[field] or any(ord(c) < 32 for c in value):
                raise ValidationFailed(details={"field": field, "problem": "too long or control characters"})
            if field == "avatar_url" and value and not value.startswith("https://"):
                raise ValidationFailed(details={"field": field, "problem": "must be an https URL"})
        changes[field] = value or None
    with write_transaction():
        user = db.session.get(User, user_id)
        for field, value in changes.items():
            setattr(user, field, value)
    return user
