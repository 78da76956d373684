"""The operators' overview: pending reviews, today's records, points issued and spent today and this month."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from app.models import LedgerReason, RecordStatus
from app.services import clock, ledger
from tests.api.test_stats import make_record, make_user


def _figure(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', page).group(1).strip()


def test_moderators_and_admins_see_the_overview_in_the_navigation(moderator_client, admin_client):
    for client in (moderator_client, admin_client):
        assert client.get("/admin/dashboard").status_code == 200
        assert 'href="/admin/dashboard"' in client.get("/admin/reviews").get_data(as_text=True)


def test_the_overview_counts_pending_reviews_todays_records_and_points(app, moderator_client, pending_photos):
    pending_photos(2)  # two pending photo records, each from its own user
    user = make_user(app, "busy")
    make_record(app, user, "travel", "bike", "10")  # 480 g, 48.0 points, today
    make_record(app, user, "meal", None, "1", status=RecordStatus.REJECTED)
    with app.app_context():
        today = clock.local_day(clock.now())
        # Yesterday 01:00, when yesterday is in this month: in the month's figures, not today's.
        earlier = clock.day_bounds(today - timedelta(days=1))[0] + timedelta(hours=1) if today.day > 1 else None
        if earlier is not None:
            ledger.post_entry(user, Decimal("5.0"), LedgerReason.RECORD_CREDIT, at=earlier)
        ledger.post_entry(user, Decimal("-20.0"), LedgerReason.REDEMPTION)
        ledger.post_entry(user, Decimal("8.0"), LedgerReason.REDEMPTION_CANCEL)
    page = moderator_client.get("/admin/dashboard").get_data(as_text=True)
    assert _figure(page, "pending") == "2" and _figure(page, "suspected") == "0"
    assert _figure(page, "records-today") == "4"  # two photos, the trip, the rejected meal
    assert _figure(page, "issued-today") == "48.0" and _figure(page, "spent-today") == "12.0"
    assert _figure(page, "issued-month") == ("53.0" if earlier is not None else "48.0")
    assert _figure(page, "spent-month") == "12.0"
    table = page[page.index('id="records-by-kind"'):]
    assert "绿色出行" in table and "已驳回" in table and "480.00 g" in table


def test_an_empty_day_shows_zeros(moderator_client):
    page = moderator_client.get("/admin/dashboard").get_data(as_text=True)
    assert _figure(page, "pending") == "0" and _figure(page, "records-today") == "0"
    assert _figure(page, "issued-today") == "0.0" and _figure(page, "spent-month") == "0.0"
    assert "今天还没有新记录" in page
