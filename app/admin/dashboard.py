"""The operators' overview (运营概览): pending reviews, today's records, points issued and spent."""

from __future__ import annotations

from flask import render_template

from app.admin import bp
from app.admin.access import staff_required
from app.models import StaffRole
from app.services import appeals, stats


@bp.get("/dashboard")
@staff_required(StaffRole.MODERATOR, StaffRole.ADMIN)
def dashboard():
    return render_template("admin/dashboard.html", summary=stats.operations_summary(),
                           overrides=appeals.duplicate_overrides())
