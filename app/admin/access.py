"""Who may see the admin: Flask-Login over server-side staff sessions, roles, and safe redirects."""

from __future__ import annotations

import re
from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from app.models import StaffRole
from app.services import staff as staff_service

login_manager = LoginManager()
# "strong": a session cookie presented from another address or browser (User-Agent) is dropped at once.
# The admin runs on an intranet where a moderator's address is stable; a roaming tablet just logs in again.
login_manager.session_protection = "strong"


class StaffUser(UserMixin):
    """The logged-in staff member as Flask-Login sees them: the id is the session token, not the staff
    id, so a session ends the moment its row is revoked (logout, password change), copied cookies too."""

    def __init__(self, token: str, staff_id: int, username: str, role: str):
        self.token, self.staff_id, self.username, self.role = token, staff_id, username, role

    def get_id(self) -> str:
        return self.token

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


@login_manager.user_loader
def load_staff(token: str) -> StaffUser | None:
    found = staff_service.session_staff(token)
    if found is None:
        return None
    _session, staff = found
    return StaffUser(token, staff.id, staff.username, staff.role)


@login_manager.unauthorized_handler
def send_to_login():
    flash("请先登录", "warning")
    # Only a page can be come back to: after login, a GET of a POST-only URL would be a 405.
    next_url = _current_path() if request.method == "GET" else None
    return redirect(url_for("admin.login", next=next_url))


def _current_path() -> str:
    return request.full_path.rstrip("?")


def staff_required(*roles: str):
    """Login required, and one of `roles` (any staff role when none is given); others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


# A local admin path and query, in plain characters: nothing that a browser could read as another host
# ("//evil.com", "/\\evil.com"), another scheme ("javascript:") or a path outside /admin.
_LOCAL_ADMIN_URL = re.compile(r"^/admin(?:/[A-Za-z0-9._~/-]*)?(?:\?[A-Za-z0-9._~=&%+-]*)?$")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a local /admin page to return to after login, else None."""
    if not target or not _LOCAL_ADMIN_URL.match(target):
        return None
    path = target.split("?", 1)[0]
    if "//" in path or any(part in (".", "..") for part in path.split("/")):
        return None
    return target
