"""The audit log (审计日志): every decision and staff action, newest first, for admins only."""

from __future__ import annotations

from flask import render_template, request

from app.admin import bp
from app.admin.access import staff_required
from app.models import StaffRole
from app.services import staff as staff_service

AUDIT_PAGE = 50


@bp.get("/audit")
@staff_required(StaffRole.ADMIN)
def audit():
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template("admin/audit.html", entries=staff_service.audit_page(page, AUDIT_PAGE))
