"""The mini program's JSON API, /api/v1 (contract: ../shared/API.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import account, auth, bedtimes, factors, photos, records, trips  # noqa: E402,F401  (routes)
