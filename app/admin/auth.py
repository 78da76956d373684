"""Staff login, logout and password change."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.admin import bp
from app.admin.access import StaffUser, safe_next, staff_required
from app.admin.forms import LoginForm, PasswordChangeForm
from app.errors import ValidationFailed
from app.services import staff as staff_service


def _client() -> tuple[str, str | None]:
    return request.remote_addr or "unknown", request.headers.get("User-Agent")


def _begin(result: staff_service.StaffLogin) -> None:
    # A fresh cookie session for a fresh login: nothing carried over from before (fixation).
    session.clear()
    login_user(StaffUser(result.token, result.staff.id, result.staff.username, result.staff.role))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("admin.index"))
    if form.validate_on_submit():
        ip, user_agent = _client()
        try:
            result = staff_service.log_in(form.username.data, form.password.data, ip, user_agent)
        except (staff_service.InvalidCredentials, staff_service.StaffDisabled,
                staff_service.LoginThrottled) as exc:
            flash(exc.message, "danger")
            # The form is shown again; 403 and 429 say what happened, a wrong password is no HTTP error.
            status = exc.status if exc.status in (403, 429) else 200
            headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else {}
            form.password.data = ""
            return render_template("admin/login.html", form=form), status, headers
        _begin(result)
        flash(f"欢迎，{result.staff.username}", "success")
        return redirect(safe_next(form.next.data) or url_for("admin.index"))
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@staff_required()
def logout():
    staff_service.log_out(current_user.token)
    logout_user()
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("admin.login"))


@bp.route("/password", methods=["GET", "POST"])
@staff_required()
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        ip, user_agent = _client()
        try:
            result = staff_service.change_password(current_user.staff_id, form.current_password.data,
                                                   form.new_password.data, ip, user_agent)
        except (ValidationFailed, staff_service.LoginThrottled) as exc:
            flash(exc.message, "danger")
            return render_template("admin/password.html", form=form), exc.status
        _begin(result)
        flash("密码已修改，其他设备上的登录已全部退出", "success")
        return redirect(url_for("admin.index"))
    return render_template("admin/password.html", form=form), 422 if form.errors else 200
