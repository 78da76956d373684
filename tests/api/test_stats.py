"""The public dashboard: GET /api/v1/stats and /dashboard show what the credited records add up to."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from app.extensions import db
from app.models import Record, RecordStatus
from app.services import accounting, clock, ledger, stats, users

UNITS = {"travel": "km", "sorting": "time", "recycling": "kg", "meal": "serving", "bedtime": "minute"}


def make_user(app, name: str) -> int:
    with app.app_context():
        return users.login(f"dev:{name}", app.config["PRIVACY_POLICY_VERSION"]).user.id


def make_record(app, user_id: int, kind: str, subtype: str | None, amount: str, day: date | None = None,
                status: str = RecordStatus.CREDITED, created_at: datetime | None = None) -> Decimal:
    """A record as the services leave it (credited through the ledger, or pending, or rejected); its grams."""
    with app.app_context():
        now = clock.now()
        quantity = Decimal(amount)
        credit = accounting.credit_for(kind, subtype, Fraction(quantity) / (60 if kind == "bedtime" else 1), now)
        record = Record(user_id=user_id, kind=kind, subtype=subtype, status=RecordStatus.PENDING,
                        quantity=quantity, unit=UNITS[kind], co2_g=credit.co2_g, points=credit.points,
                        factor_id=credit.factor.id, day=day or clock.local_day(now), created_at=created_at or now)
        db.session.add(record)
        db.session.commit()
        if status == RecordStatus.CREDITED:
            ledger.credit_record(record)
        elif status == RecordStatus.REJECTED:
            record.status, record.reject_reason = RecordStatus.REJECTED, "照片与所报行为不符"
            db.session.commit()
        return record.co2_g


@pytest.fixture(autouse=True)
def fresh_stats(app):
    """Each test reads the figures anew (the cache is per app, and the app lives for the whole session)."""
    with app.app_context():
        stats.clear_public_stats_cache()
    yield
    with app.app_context():
        stats.clear_public_stats_cache()


def test_the_figures_match_the_credited_records(app, client):
    with app.app_context():
        today = clock.local_day(clock.now())
    ann, bo, cy = (make_user(app, n) for n in ("ann", "bo", "cy"))
    grams = {
        "bike": make_record(app, ann, "travel", "bike", "5.5"),                                 # 264.00 today
        "paper": make_record(app, ann, "recycling", "paper", "1.2", today - timedelta(days=3)),  # 6504.00
        "meal": make_record(app, bo, "meal", None, "1", today - timedelta(days=29)),             # 96.00
        "old": make_record(app, bo, "sorting", "kitchen", "1", today - timedelta(days=30)),      # 68.00, too old
        "bed": make_record(app, ann, "bedtime", None, "90"),                                    # 116.40 today
    }
    make_record(app, cy, "meal", None, "1", status=RecordStatus.PENDING)     # not credited (yet)
    make_record(app, cy, "sorting", "kitchen", "1", status=RecordStatus.REJECTED)

    response = client.get("/api/v1/stats")  # no login
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"public, max-age={app.config['STATS_CACHE_SECONDS']}"
    body = response.get_json()
    assert Decimal(str(body["co2_g_total"])) == sum(grams.values()) == Decimal("7048.40")
    assert Decimal(str(body["co2_g_today"])) == grams["bike"] + grams["bed"] == Decimal("380.40")
    assert body["participants"] == 2  # cy has nothing credited
    by_kind = {k["kind"]: (Decimal(str(k["co2_g"])), k["records"]) for k in body["by_kind"]}
    assert by_kind == {"travel": (Decimal("264.00"), 1), "sorting": (Decimal("68.00"), 1),
                       "recycling": (Decimal("6504.00"), 1), "bedtime": (Decimal("116.40"), 1),
                       "meal": (Decimal("96.00"), 1)}
    series = body["last_30_days"]
    assert len(series) == 30 and series[-1]["date"] == today.isoformat()
    assert series[0]["date"] == (today - timedelta(days=29)).isoformat()
    assert Decimal(str(series[0]["co2_g"])) == Decimal("96.00")
    assert Decimal(str(series[-4]["co2_g"])) == Decimal("6504.00")
    assert sum(Decimal(str(d["co2_g"])) for d in series) == Decimal("6980.40")  # all but the 30-day-old one
    assert '"co2_g_total": 7048.40' in response.get_data(as_text=True)  # an exact number, 2 decimals


def test_an_empty_platform_shows_zeros(client):
    body = client.get("/api/v1/stats").get_json()
    assert body["co2_g_total"] == 0 and body["co2_g_today"] == 0 and body["participants"] == 0
    assert [k["kind"] for k in body["by_kind"]] == ["travel", "sorting", "recycling", "bedtime", "meal"]
    assert len(body["last_30_days"]) == 30 and all(d["co2_g"] == 0 for d in body["last_30_days"])


def test_today_is_the_day_in_shanghai_not_in_utc(app):
    user = make_user(app, "night-owl")
    make_record(app, user, "meal", None, "1", day=date(2026, 3, 2))
    make_record(app, user, "sorting", "kitchen", "1", day=date(2026, 3, 1))
    with app.app_context():
        # 16:30 UTC on 1 March is 00:30 on 2 March in Shanghai.
        figures = stats.compute_public_stats(datetime(2026, 3, 1, 16, 30, tzinfo=UTC))
    assert figures.co2_g_today == Decimal("96.00")
    assert figures.series[-1].day == date(2026, 3, 2) and figures.series[-2].co2_g == Decimal("68.00")


def test_the_figures_are_cached_for_a_short_time(app, client):
    user = make_user(app, "cached")
    make_record(app, user, "meal", None, "1")
    assert client.get("/api/v1/stats").get_json()["co2_g_total"] == Decimal("96.00")
    make_record(app, user, "sorting", "kitchen", "1")
    assert client.get("/api/v1/stats").get_json()["co2_g_total"] == Decimal("96.00")  # within 30 s: cached
    app.config["STATS_CACHE_SECONDS"] = 0
    try:
        assert client.get("/api/v1/stats").get_json()["co2_g_total"] == Decimal("164.00")
    finally:
        app.config["STATS_CACHE_SECONDS"] = 30


def test_the_public_dashboard_page_shows_totals_split_and_a_30_day_chart(app, client):
    user = make_user(app, "shown")
    make_record(app, user, "recycling", "textile", "2")  # 7200 g = 7.20 千克
    make_record(app, user, "meal", None, "1")
    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="co2-total">7.30 千克<', html) and re.search(r'id="participants">1<', html)
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', html)  # refreshes itself
    assert html.count('<rect class="bar"') == 30 and "<title>" in html
    kinds = re.findall(r'data-kind="(\w+)"', html)
    assert kinds[:2] == ["recycling", "meal"] and "98.7%" in html  # largest share first
    # Nothing from elsewhere: no CDN, no inline script; the stylesheet is the app's own.
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/public/dashboard.css").status_code == 200
