"""The seed paper's Tables 2 (grams) and 3 (points), row by row, and exact half-up rounding."""

from decimal import Decimal
from fractions import Fraction

import pytest
import simplejson

from app.services import accounting, clock

# (kind, subtype, one unit of activity, Table 2 grams, Table 3 points)
SEED_TABLES = [
    ("travel", "bike", 1, "48.00", "4.8"),
    ("travel", "bus", 1, "26.92", "2.7"),
    ("travel", "subway", 1, "46.80", "4.7"),
    ("sorting", "kitchen", 1, "68.00", "6.8"),
    ("recycling", "textile", 1, "3600.00", "360.0"),
    ("recycling", "paper", 1, "5420.00", "542.0"),
    ("bedtime", None, 1, "77.60", "7.8"),
    ("meal", None, 1, "96.00", "9.6"),
]


@pytest.mark.parametrize("kind, subtype, amount, grams, points", SEED_TABLES)
def test_one_unit_of_each_behaviour_earns_the_seed_tables_grams_and_points(app, kind, subtype, amount,
                                                                           grams, points):
    with app.app_context():
        credit = accounting.credit_for(kind, subtype, amount, clock.now())
    assert credit.co2_g == Decimal(grams)
    assert credit.points == Decimal(points)
    assert credit.factor.version == 1


def test_factors_endpoint_lists_table_2_and_table_3_for_each_behaviour(client):
    items = simplejson.loads(client.get("/api/v1/factors").get_data(), use_decimal=True)["items"]
    published = {(i["kind"], i["subtype"]): (str(i["grams_per_unit"]), str(i["points_per_unit"]), i["unit"])
                 for i in items}
    assert published == {
        ("travel", "bike"): ("48", "4.8", "km"),
        ("travel", "bus"): ("26.92", "2.7", "km"),
        ("travel", "subway"): ("46.8", "4.7", "km"),
        ("sorting", "kitchen"): ("68", "6.8", "time"),
        ("recycling", "textile"): ("3600", "360.0", "kg"),
        ("recycling", "paper"): ("5420", "542.0", "kg"),
        ("bedtime", None): ("77.6", "7.8", "hour"),
        ("meal", None): ("96", "9.6", "serving"),
    }


def test_factors_are_json_numbers_not_strings(client):
    raw = client.get("/api/v1/factors").get_data(as_text=True)
    assert '"grams_per_unit": 26.92' in raw
    assert '"points_per_unit": 2.7' in raw


def test_a_five_km_bike_ride_earns_240_grams_and_24_points(app):
    with app.app_context():
        credit = accounting.credit_for("travel", "bike", Decimal("5.000"), clock.now())
    assert (credit.co2_g, credit.points) == (Decimal("240.00"), Decimal("24.0"))


def test_rounding_is_half_up_where_decimal_default_would_round_half_even():
    # 0.125 → 0.13 half-up (half-even gives 0.12); 0.25 → 0.3 half-up (half-even gives 0.2).
    assert accounting.round_half_up(Decimal("0.125"), accounting.GRAMS) == Decimal("0.13")
    assert accounting.round_half_up(Decimal("0.25"), accounting.POINTS) == Decimal("0.3")


def test_points_come_from_grams_already_rounded_to_two_places(app):
    # 0.449 km by bus: 12.08708 g → 12.09 g → 1.209 → 1.2 points.
    with app.app_context():
        credit = accounting.credit_for("travel", "bus", Decimal("0.449"), clock.now())
    assert (credit.co2_g, credit.points) == (Decimal("12.09"), Decimal("1.2"))


def test_bedtime_minutes_are_prorated_exactly(app):
    # 43 minutes early: 77.6 × 43 / 60 = 55.6133… g, not 77.6 × 0.717 h = 55.64 g.
    with app.app_context():
        credit = accounting.credit_for("bedtime", None, Fraction(43, 60), clock.now())
    assert (credit.co2_g, credit.points) == (Decimal("55.61"), Decimal("5.6"))


def test_points_per_gram_is_configurable(app):
    with app.app_context():
        app.config["POINTS_PER_GRAM"] = Decimal("1")
        try:
            credit = accounting.credit_for("meal", None, 1, clock.now())
        finally:
            app.config["POINTS_PER_GRAM"] = Decimal("0.1")
    assert credit.points == Decimal("96.0")
