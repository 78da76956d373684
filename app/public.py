"""Public pages served by the app itself: the privacy policy users consent to."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("public", __name__)


@bp.get("/privacy")
def privacy_policy():
    return render_template("public/privacy.html", version=current_app.config["PRIVACY_POLICY_VERSION"])
