"""The moderators' and operators' web admin, /admin."""

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, template_folder="../templates/admin")


def init_app(app: Flask) -> None:
    """Admin-wide set-up (login manager, CLI) that needs the app, called from create_app."""
