"""The moderators' and operators' web admin, /admin (staff accounts and review pages: issue #3)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="../templates/admin")
