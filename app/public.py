"""Public pages served by the app itself: the privacy policy users consent to, and the public dashboard."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, current_app, render_template

from app.services import accounting, clock, explanations, health, stats
from app.services.notifications import KIND_NAMES

bp = Blueprint("public", __name__)

# Everything from this server: no CDN, no inline script. Framing is allowed: a city website may embed it.
DASHBOARD_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'"
REFRESH_SECONDS = 60


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers (no dependency is touched)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database, storage (and Redis, if configured) are usable, else 503."""
    checks = health.readiness()
    ready = all(state == "ok" for state in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@bp.get("/privacy")
def privacy_policy():
    config = current_app.config
    return render_template("public/privacy.html", version=config["PRIVACY_POLICY_VERSION"],
                           track_days=config["TRACK_RETENTION_DAYS"], photo_days=config["PHOTO_RETENTION_DAYS"])


@bp.get("/dashboard")
def dashboard():
    """公众减排看板: totals, the split by behaviour and the last 30 days, re-read every minute."""
    figures = stats.public_stats()
    html = render_template("public/dashboard.html", figures=figures, chart=day_chart(figures.series),
                           kinds=kind_bars(figures.by_kind), kind_names=KIND_NAMES, refresh=REFRESH_SECONDS,
                           weight=weight, catalog=accounting.current_catalog(clock.now()),
                           subtype_names=explanations.SUBTYPE_NAMES, unit_names=explanations.UNIT_NAMES)
    max_age = current_app.config["STATS_CACHE_SECONDS"]
    return html, 200, {"Content-Security-Policy": DASHBOARD_CSP, "Cache-Control": f"public, max-age={max_age}",
                       "X-Content-Type-Options": "nosniff"}


def weight(grams: Decimal) -> str:
    """Grams as people read them: 850 克, 12.35 千克, 3.2 吨."""
    if grams >= 1_000_000:
        return f"{grams / 1_000_000:,.2f} 吨"
    if grams >= 1000:
        return f"{grams / 1000:,.2f} 千克"
    return f"{grams:,.0f} 克" if grams == grams.to_integral_value() else f"{grams:,.2f} 克"


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above value (an axis maximum people can read)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= value)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label)


def day_chart(series: list[stats.DayTotal], width: int = 760, height: int = 260) -> Chart:
    """Geometry of the 30-day bar chart, drawn as SVG by the template (server-side: nothing to load)."""
    left, top, right, bottom = 72, 12, 8, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(float(max((d.co2_g for d in series), default=0)))
    step = plot_w / max(len(series), 1)
    bars = []
    for i, day in enumerate(series):
        h = float(day.co2_g) / peak * plot_h
        label = f"{day.day.month}/{day.day.day}" if i % 5 == 4 or i == len(series) - 1 else ""
        bars.append(Bar(x=round(left + i * step + step * 0.15, 2), y=round(top + plot_h - h, 2),
                        width=round(step * 0.7, 2), height=round(h, 2), label=label,
                        title=f"{day.day.isoformat()}：{weight(day.co2_g)}"))
    ticks = [(round(top + plot_h - plot_h * f, 2), weight(Decimal(str(peak * f))).replace(".00 ", " "))
             for f in (0, 0.25, 0.5, 0.75, 1)]
    return Chart(width, height, left, top, plot_w, plot_h, bars, ticks)


@dataclass(frozen=True)
class KindBar:
    kind: str
    co2_g: Decimal
    records: int
    share: Decimal  # percent of the total, 1 decimal
    width: float  # of 100


def kind_bars(by_kind: list[stats.KindTotal]) -> list[KindBar]:
    total = sum((k.co2_g for k in by_kind), Decimal(0))
    bars = []
    for k in sorted(by_kind, key=lambda k: k.co2_g, reverse=True):
        share = (k.co2_g * 100 / total).quantize(Decimal("0.1"), ROUND_HALF_UP) if total else Decimal("0.0")
        bars.append(KindBar(k.kind, k.co2_g, k.records, share, round(float(share), 1)))
    return bars
