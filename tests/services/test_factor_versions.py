"""Factors are versioned data: a new version applies to later records and never rewrites old ones."""

from datetime import timedelta
from decimal import Decimal

from app.extensions import db
from app.models import EmissionFactor
from app.services import clock
from tests.api.test_bedtimes import post_bedtime


def test_a_new_factor_version_applies_from_its_start_and_old_records_keep_their_grams(app, client, login):
    ann, ben = login("ann"), login("ben")
    before = post_bedtime(client, ann, "22:00").get_json()
    with app.app_context():
        db.session.add(EmissionFactor(kind="bedtime", subtype="", version=2, grams_per_unit=Decimal("80"),
                                      unit="hour", valid_from=clock.now() - timedelta(seconds=1),
                                      source="test: revised methodology"))
        db.session.commit()
    after = post_bedtime(client, ben, "22:00").get_json()
    assert (after["co2_g"], after["factor"]["version"]) == (80, 2)
    old = client.get("/api/v1/records", headers=ann).get_json()["items"][0]
    assert old["id"] == before["id"] and (old["co2_g"], old["factor"]["version"]) == (77.6, 1)
    catalog = {(f["kind"], f["subtype"]): f for f in client.get("/api/v1/factors").get_json()["items"]}
    assert catalog[("bedtime", None)]["grams_per_unit"] == 80 and catalog[("bedtime", None)]["version"] == 2


def test_a_factor_version_starting_later_is_not_used_yet(app, client, login):
    with app.app_context():
        db.session.add(EmissionFactor(kind="bedtime", subtype="", version=2, grams_per_unit=Decimal("80"),
                                      unit="hour", valid_from=clock.now() + timedelta(days=7),
                                      source="test: announced for next week"))
        db.session.commit()
    assert post_bedtime(client, login(), "22:00").get_json()["co2_g"] == 77.6
