"""Staff accounts of the web admin: passwords, throttled login, server-side sessions, the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import write_transaction
from app.errors import Conflict, DomainError, DuplicateRecord, NotFound, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, LoginAttempt, Staff, StaffRole, StaffSession
from app.models.types import utcnow

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # scrypt of a megabyte "password" is a cheap denial of service
_USERNAME = re.compile(r"^[\w.@-]{2,64}$")
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")

class InvalidCredentials(DomainError):
    # One message for an unknown name and a wrong password: the form must not reveal who exists.
    status, code, message = 401, "invalid_credentials", "用户名或密码错误"


class LoginThrottled(DomainError):
    status, code, message = 429, "login_throttled", "登录失败次数过多，请稍后再试"


class StaffDisabled(DomainError):
    status, code, message = 403, "staff_disabled", "该账号已停用，请联系管理员"


class StaffNameTaken(Conflict):
    code, message = "staff_name_taken", "该用户名已存在"


@dataclass(frozen=True)
class StaffLogin:
    """A live session: `token` goes into the (signed) session cookie, only its hash into the database."""

    staff: Staff
    token: str
    expires_at: datetime


def _setting(name: str) -> int:
    """STAFF_SESSION_HOURS and the LOGIN_* throttling limits, from config.py."""
    return int(current_app.config[name])


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"密码太短：至少 {MIN_PASSWORD_LENGTH} 个字符",
                               details={"field": "password", "problem": f"at least {MIN_PASSWORD_LENGTH} characters"})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"密码太长：至多 {MAX_PASSWORD_LENGTH} 个字符",
                               details={"field": "password", "problem": f"at most {MAX_PASSWORD_LENGTH} characters"})
    if password.strip().lower() == username.lower():
        raise ValidationFailed("密码不能与用户名相同", details={"field": "password", "problem": "same as the name"})


def create_staff(username: str, password: str, role: str) -> Staff:
    """A new moderator or admin (`flask create-admin`)."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationFailed("用户名须为 2–64 个字母、数字或 . _ @ -",
                               details={"field": "username", "problem": "2-64 letters, digits, . _ @ -"})
    if role not in StaffRole.ALL:
        raise ValidationFailed(details={"field": "role", "allowed": list(StaffRole.ALL)})
    _check_new_password(password, username)
    password_hash = generate_password_hash(password)  # slow on purpose: outside the transaction
    try:
        with write_transaction():
            if db.session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
                raise StaffNameTaken(f"用户名 {username} 已存在")
            now = utcnow()
            staff = Staff(username=username, password_hash=password_hash, role=role, created_at=now,
                          password_changed_at=now)
            db.session.add(staff)
            db.session.flush()
            db.session.add(AuditEntry(staff_id=staff.id, action="staff_created", details={"role": role}))
    except DuplicateRecord:  # the unique constraint, when two create the same name at once
        raise StaffNameTaken(f"用户名 {username} 已存在") from None
    return staff


# Checked against when the name is unknown, so that both failures take the same time.
_dummy_hash: str | None = None


def _verify(staff: Staff | None, password: str) -> bool:
    global _dummy_hash
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # hashes no huge input, and matches no password (none is shorter than 10)
    if staff is None:
        _dummy_hash = _dummy_hash or generate_password_hash(secrets.token_hex(16))
        check_password_hash(_dummy_hash, password)
        return False
    return check_password_hash(staff.password_hash, password)


def _throttle_key(username: str) -> str:
    return username.strip().lower()[:64]


def retry_after(username: str, ip: str, now: datetime | None = None) -> int | None:
    """Seconds until a login for this name from this address may be tried again; None if it may now.

    Only failures count, within a sliding window: the lock lifts when enough of them age out. Refused
    attempts are not recorded, so hammering a locked form does not extend the lock, and a success
    clears nothing (an attacker gets no fresh allowance each time the real user logs in).
    """
    now = now or utcnow()
    window = timedelta(minutes=_setting("LOGIN_WINDOW_MINUTES"))
    waits = []
    for column, value, limit in (
            (LoginAttempt.username, _throttle_key(username), _setting("LOGIN_MAX_FAILURES_PER_USERNAME")),
            (LoginAttempt.ip, ip, _setting("LOGIN_MAX_FAILURES_PER_IP"))):
        recent = db.session.scalars(
            select(LoginAttempt.attempted_at).where(column == value, LoginAttempt.attempted_at > now - window)
            .order_by(LoginAttempt.attempted_at.desc()).limit(limit)).all()
        if len(recent) >= limit:
            waits.append(int((recent[limit - 1] + window - now).total_seconds()) + 1)
    return max(waits) if waits else None


def _refuse_if_throttled(username: str, ip: str) -> None:
    wait = retry_after(username, ip)
    if wait is not None:
        minutes = -(-wait // 60)
        raise LoginThrottled(f"登录失败次数过多，请 {minutes} 分钟后再试", details={"retry_after": wait})


def _record_failure(username: str, ip: str) -> None:
    with write_transaction():
        db.session.add(LoginAttempt(username=_throttle_key(username), ip=ip, attempted_at=utcnow()))


def _start_session(staff: Staff, ip: str, user_agent: str | None) -> StaffLogin:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(hours=_setting("STAFF_SESSION_HOURS"))
    db.session.add(StaffSession(staff_id=staff.id, token_hash=_hash_token(token), created_at=now,
                                expires_at=expires_at, ip=ip, user_agent=(user_agent or "")[:255] or None))
    return StaffLogin(staff=staff, token=token, expires_at=expires_at)


def log_in(username: str, password: str, ip: str, user_agent: str | None = None) -> StaffLogin:
    """Check a name and password and open a session; throttled per name and per address.

    A throttled login is refused before the password is looked at, even a right one.
    """
    _refuse_if_throttled(username, ip)
    staff = db.session.scalar(select(Staff).where(Staff.username == username.strip()))
    if not _verify(staff, password):
        _record_failure(username, ip)
        raise InvalidCredentials()
    if staff.disabled_at is not None:
        # Said only to someone who knows the password, so it reveals nothing to a guesser.
        _record_failure(username, ip)
        raise StaffDisabled()
    with write_transaction():
        _refuse_if_throttled(username, ip)  # again, now that concurrent failures have committed
        staff = db.session.get(Staff, staff.id)
        result = _start_session(staff, ip, user_agent)
        db.session.add(AuditEntry(staff_id=staff.id, action="staff_login", details={"ip": ip}))
    return result


def session_staff(token: str | None) -> tuple[StaffSession, Staff] | None:
    """The staff member behind a live session token: not expired, not revoked, not disabled."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    row = db.session.execute(
        select(StaffSession, Staff).join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == _hash_token(token))).one_or_none()
    if row is None:
        return None
    staff_session, staff = row
    if staff_session.revoked_at is not None or staff_session.expires_at <= utcnow() or staff.disabled_at:
        return None
    return staff_session, staff


def log_out(token: str) -> None:
    """End one session for good: the cookie that carries it, and every copy, stops working."""
    with write_transaction():
        session = db.session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash_token(token),
                                                               StaffSession.revoked_at.is_(None)))
        if session is not None:
            session.revoked_at = utcnow()
            db.session.add(AuditEntry(staff_id=session.staff_id, action="staff_logout"))


def change_password(staff_id: int, current_password: str, new_password: str, ip: str,
                    user_agent: str | None = None) -> StaffLogin:
    """Set a new password, end every session of this staff member and open a fresh one.

    A wrong current password counts as a failed login, so a stolen session cannot be used to guess it.
    """
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise NotFound()
    _refuse_if_throttled(staff.username, ip)
    if not _verify(staff, current_password):
        _record_failure(staff.username, ip)
        raise ValidationFailed("当前密码不正确", details={"field": "current_password"})
    _check_new_password(new_password, staff.username)
    if new_password == current_password:
        raise ValidationFailed("新密码不能与当前密码相同", details={"field": "new_password"})
    password_hash = generate_password_hash(new_password)
    with write_transaction():
        staff = db.session.get(Staff, staff_id)
        now = utcnow()
        staff.password_hash, staff.password_changed_at = password_hash, now
        db.session.execute(update(StaffSession)
                           .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
        result = _start_session(staff, ip, user_agent)
        db.session.add(AuditEntry(staff_id=staff_id, action="password_changed", details={"ip": ip}))
    return result


def audit_page(page: int, per_page: int = 50) -> Pagination:
    """The audit log, newest first, one page of it (admins only)."""
    query = select(AuditEntry).options(selectinload(AuditEntry.staff)).order_by(AuditEntry.id.desc())
    return db.paginate(query, page=page, per_page=per_page, max_per_page=200, error_out=False, count=True)


def purge_expired(now: datetime | None = None) -> tuple[int, int]:
    """Drop failed logins older than the window and sessions ended more than 30 days ago."""
    now = now or utcnow()
    window = timedelta(minutes=_setting("LOGIN_WINDOW_MINUTES"))
    with write_transaction():
        attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - window)).rowcount
        sessions = db.session.execute(delete(StaffSession).where(
            StaffSession.expires_at < now - timedelta(days=30))).rowcount
    return attempts, sessions
