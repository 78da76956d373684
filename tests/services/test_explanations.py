"""The explanation service reads stored data only (a page costs a fixed number of queries), and the factor
service publishes versions forward in time only."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import EmissionFactor, Record
from app.services import clock, explanations, factors
from tests.admin.factories import jpeg
from tests.api.test_bedtimes import post_bedtime
from tests.api.test_photos import upload


def count_queries(work) -> int:
    seen = []

    def _count(*_args):
        seen.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", _count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return len(seen)


def test_a_page_of_records_is_explained_in_a_fixed_number_of_queries(app, client, login):
    for i in range(2):
        upload(client, login(f"few{i}"), jpeg(100 + i))
    for i in range(8):
        upload(client, login(f"many{i}"), jpeg(200 + i))
    post_bedtime(client, login("sleeper"), "21:00")
    with app.app_context():
        records = db.session.scalars(sa.select(Record).order_by(Record.id)).all()
        for record in records:  # loaded as GET /records loads them
            _ = record.factor, record.trip, record.photo
        few = count_queries(lambda: explanations.explain_all(records[:2]))
        many = count_queries(lambda: explanations.explain_all(records))
    assert many == few <= 4


def test_a_record_made_under_another_points_rate_keeps_its_points(app, client, login):
    record = post_bedtime(client, login(), "22:00").get_json()  # 77.6 g → 7.8 points at 0.1
    rate = app.config["POINTS_PER_GRAM"]
    app.config["POINTS_PER_GRAM"] = Decimal("1")
    try:
        with app.app_context():
            explanation = explanations.explain(db.session.get(Record, record["id"]))
    finally:
        app.config["POINTS_PER_GRAM"] = rate
    assert explanation["points"] == "77.60 g → 7.8 积分（按记录时的换算比例）"


def test_a_new_version_keeps_the_factors_unit_and_counts_up(app):
    with app.app_context():
        second = factors.publish_factor("recycling", "paper", "5500", "测试", None, staff_id=None)
        third = factors.publish_factor("recycling", "paper", "5600.1234", "测试", None, staff_id=None)
        assert (second.version, second.unit, third.version, third.grams_per_unit) == (2, "kg", 3, Decimal("5600.1234"))
        current = factors.catalog_history()
        paper = next(h for h in current if (h.kind, h.subtype) == ("recycling", "paper"))
        assert [v.version for v in paper.versions] == [3, 2, 1] and paper.current.version == 3


def test_a_start_within_the_current_minute_means_now_but_earlier_is_refused(app):
    with app.app_context():
        now = clock.now()
        factor = factors.publish_factor("meal", None, "100", "测试", now - timedelta(seconds=30), staff_id=None,
                                        now=now)
        assert factor.valid_from == now
        with pytest.raises(ValidationFailed) as refused:
            factors.publish_factor("meal", None, "100", "测试", now - timedelta(minutes=5), staff_id=None, now=now)
        assert refused.value.details == {"field": "valid_from"}
        with pytest.raises(ValidationFailed):
            factors.publish_factor("meal", None, "100", "测试", datetime(2030, 1, 1), staff_id=None)  # no zone


def test_only_factors_of_the_catalog_get_new_versions(app):
    with app.app_context():
        with pytest.raises(NotFound):
            factors.publish_factor("travel", "rocket", "1", "测试", None, staff_id=None)
        assert db.session.scalar(sa.select(sa.func.count(EmissionFactor.id))) == 8
