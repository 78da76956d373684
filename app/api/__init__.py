"""The mini program's JSON API, /api/v1 (contract: ../shared/API.md), documented at /api/v1/openapi.json."""

from app.api.openapi import ApiBlueprint

bp = ApiBlueprint("api", __name__)

from app.api import (  # noqa: E402,F401  (routes)
    account, activities, appeals, auth, bedtimes, content, docs, factors, friends, photos, privacy, records, rewards,
    stats, trips,
)
