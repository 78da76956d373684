"""The user's own account: profile and point totals."""

from flask import g, request

from app.api import bp
from app.api.auth import login_required
from app.api.schemas import user_json
from app.errors import ValidationFailed
from app.services import account, users


@bp.get("/me")
@login_required
def me():
    summary = account.account_summary(g.current_user.id)
    return {"user": user_json(g.current_user),
            "account": {"balance_points": summary.balance_points,
                        "earned_points_year": summary.earned_points_year,
                        "spent_points_total": summary.spent_points_total,
                        "co2_g_total": summary.co2_g_total, "co2_g_year": summary.co2_g_year}}


@bp.patch("/me")
@login_required
def update_me():
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise ValidationFailed("请求体须为 JSON 对象")
    return user_json(users.update_profile(g.current_user, changes))
