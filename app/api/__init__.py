"""The mini program's JSON API, /api/v1 (contract: ../shared/API.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import (  # noqa: E402,F401  (routes)
    account, activities, auth, bedtimes, content, factors, friends, photos, records, rewards, stats, trips,
)
