"""GET /stats: the public dashboard's figures, no login, cached briefly (see services.stats.public_stats)."""

from __future__ import annotations

from flask import current_app

from app.api import bp
from app.services import stats


def stats_json(figures: stats.PublicStats) -> dict:
    return {"co2_g_total": figures.co2_g_total, "co2_g_today": figures.co2_g_today,
            "participants": figures.participants,
            "by_kind": [{"kind": k.kind, "co2_g": k.co2_g, "records": k.records} for k in figures.by_kind],
            "last_30_days": [{"date": d.day.isoformat(), "co2_g": d.co2_g} for d in figures.series],
            "generated_at": figures.generated_at.isoformat()}


@bp.get("/stats")
def public_stats():
    max_age = current_app.config["STATS_CACHE_SECONDS"]
    return stats_json(stats.public_stats()), 200, {"Cache-Control": f"public, max-age={max_age}"}
