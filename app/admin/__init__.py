"""The moderators' and operators' web admin, /admin."""

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError

from app.admin import labels
from app.errors import DomainError, NotFound
from app.services import moderation

bp = Blueprint("admin", __name__)

# Pages are served by the app itself (Bootstrap vendored in app/static): nothing from elsewhere may load.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    """Admin-wide set-up (login manager, CLI) that needs the app, called from create_app."""
    from app.admin import cli
    from app.admin.access import login_manager

    login_manager.init_app(app)
    labels.register(app)
    cli.register_commands(app)


# Navigation after the review queue: (endpoint, label, admins only). A section appears once its
# view is registered, so each area's module adds its pages without touching the layout.
SECTIONS = (
    ("admin.appeals_queue", "申诉", False),
    ("admin.dashboard", "运营概览", False),
    ("admin.rewards", "奖励", True),
    ("admin.redemptions", "兑换记录", True),
    ("admin.articles", "文章", True),
    ("admin.tips", "减排建议", True),
    ("admin.activities", "活动", True),
    ("admin.partners", "合作方", True),
    ("admin.factors", "排放因子", True),
    ("admin.audit", "审计日志", True),
)


def admin_sections():
    views = current_app.view_functions
    return [section for section in SECTIONS if section[0] in views]


@bp.context_processor
def _navigation():
    return {"labels": labels.TABLES, "queue_counts": queue_counts, "admin_sections": admin_sections}


def queue_counts():
    """(pending, suspected) for the navigation bar, read once per request and only when shown."""
    if "admin_queue" not in g:
        queue = moderation.review_queue(limit=0)
        g.admin_queue = (queue.pending, queue.suspected)
    return g.admin_queue


@bp.after_request
def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Every admin page shows personal data: no browser or proxy keeps a copy.
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    return render_template("admin/error.html", status=400, title="页面已过期",
                           message="表单已失效（CSRF 校验未通过），请返回并刷新页面后重试。"), 400


@bp.errorhandler(403)
def _forbidden(_exc):
    return render_template("admin/error.html", status=403, title="无权访问",
                           message="你的账号没有打开此页面的权限。"), 403


@bp.errorhandler(404)
def _not_found(_exc):
    return render_template("admin/error.html", status=404, title="未找到", message="该页面或记录不存在。"), 404


@bp.errorhandler(DBAPIError)
def _database_down(_exc):
    # minimal: a page that needs no database (no navigation counts, no user lookup).
    return render_template("admin/error.html", status=503, title="服务暂不可用", minimal=True,
                           message="数据库暂时无法访问，请稍后刷新重试。"), 503


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """A refusal from a service becomes a flashed message on a page, never an error page or a 500;
    a record, article or activity that does not exist is the admin's ordinary 404 page."""
    if isinstance(exc, NotFound):
        return _not_found(exc)
    flash(exc.message, "danger")
    if request.endpoint != "admin.reviews" and current_user.is_authenticated:
        return redirect(url_for("admin.reviews"))
    return render_template("admin/error.html", status=exc.status, title="无法完成操作", message="",
                           minimal=exc.status >= 500), exc.status


from app.admin import activities, audit, auth, content, dashboard, reviews, rewards  # noqa: E402,F401  (routes)
from app.admin import partners  # noqa: E402,F401  (routes)
from app.admin import appeals  # noqa: E402,F401  (routes)
from app.admin import factors  # noqa: E402,F401  (routes)
