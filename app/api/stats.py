"""GET /stats: the public dashboard's figures, no login, cached briefly (see services.stats.public_stats)."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app

from app.api import bp
from app.api.schemas import Grams, Response
from app.services import stats


class KindTotalOut(Response):
    kind: str
    co2_g: Grams
    records: int


class DayTotalOut(Response):
    date: date
    co2_g: Grams


class StatsOut(Response):
    co2_g_total: Grams
    co2_g_today: Grams
    participants: int
    by_kind: list[KindTotalOut]
    last_30_days: list[DayTotalOut]
    generated_at: datetime


def stats_json(figures: stats.PublicStats) -> dict:
    return {"co2_g_total": figures.co2_g_total, "co2_g_today": figures.co2_g_today,
            "participants": figures.participants,
            "by_kind": [{"kind": k.kind, "co2_g": k.co2_g, "records": k.records} for k in figures.by_kind],
            "last_30_days": [{"date": d.day.isoformat(), "co2_g": d.co2_g} for d in figures.series],
            "generated_at": figures.generated_at.isoformat()}


@bp.get("/stats", responses={200: StatsOut})
def public_stats():
    """The public dashboard's figures (no login)"""
    max_age = current_app.config["STATS_CACHE_SECONDS"]
    return stats_json(stats.public_stats()), 200, {"Cache-Control": f"public, max-age={max_age}"}
