"""Partner events through real signed HTTP requests: credited once, verified, refusals with their codes."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models.partners import PartnerEvent
from app.services import partners
from tests.partner.conftest import ago, bike_event
from tests.races import race


def account(base: str, headers: dict) -> dict:
    return requests.get(f"{base}/api/v1/me", headers=headers, timeout=10).json()["account"]


def ledger(base: str, headers: dict) -> list[dict]:
    return requests.get(f"{base}/api/v1/ledger", headers=headers, timeout=10).json()["items"]


def audit_trail(app, partner_id: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.status, e.error_code) for e in db.session.scalars(
            sa.select(PartnerEvent).where(PartnerEvent.partner_id == partner_id).order_by(PartnerEvent.id))]


def test_a_signed_bike_ride_credits_the_bound_user_as_verified(live_server, partner, bound_user):
    partner_id, client = partner
    headers, binding = bound_user()
    response = client.send_event(bike_event(binding, km="4.2"))
    assert response.status_code == 201, response.text
    record = response.json()["record"]
    assert record["status"] == "credited" and record["verified"] is True
    assert record["source"] == f"partner:{partner_id}"
    assert Decimal(str(record["co2_g"])) == Decimal("201.6")  # 4.2 km × 48 g
    assert Decimal(str(record["points"])) == Decimal("20.2")
    assert Decimal(str(account(live_server, headers)["balance_points"])) == Decimal("20.2")
    mine = requests.get(f"{live_server}/api/v1/records", headers=headers, timeout=10).json()["items"]
    assert [(r["kind"], r["subtype"], r["status"]) for r in mine] == [("travel", "bike", "credited")]


def test_the_same_event_sent_5_times_at_once_is_one_credit_and_one_answer(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    event = bike_event(binding, event_id="ride-race")
    responses = race(5, lambda _: client.send_event(event))
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1  # every copy answers what the first answered
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4
    assert [e["reason"] for e in ledger(live_server, headers)] == ["record_credit"]
    assert Decimal(str(account(live_server, headers)["balance_points"])) == Decimal(str(
        responses[0].json()["record"]["points"]))


def test_a_retry_later_answers_the_same_and_credits_nothing_more(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    event = bike_event(binding)
    first = client.send_event(event)
    again = client.send_event(event)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(ledger(live_server, headers)) == 1


def test_an_event_id_reused_for_other_data_is_a_conflict(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    assert client.send_event(bike_event(binding, km="4.2")).status_code == 201
    response = client.send_event(bike_event(binding, km="9.9"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_conflict"
    assert len(ledger(live_server, headers)) == 1


def test_a_wrong_signature_is_refused_and_credits_nothing(app, live_server, partner, bound_user):
    partner_id, client = partner
    headers, binding = bound_user()
    response = client.send_event(bike_event(binding), secret="ps_not-the-secret")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
    assert ledger(live_server, headers) == []
    assert audit_trail(app, partner_id) == [("refused", "invalid_signature")]


def test_a_body_changed_after_signing_is_refused(live_server, partner, bound_user):
    _, client = partner
    _, binding = bound_user()
    signed = b'{"event_id": "x"}'
    headers = client.signed_headers("POST", "/partner/v1/events", signed)
    response = requests.post(f"{live_server}/partner/v1/events", headers=headers, timeout=10,
                             json=bike_event(binding))
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"


def test_an_unknown_key_or_missing_headers_are_invalid_signatures(live_server, partner):
    _, client = partner
    client.key_id = "pk_nobody"
    assert client.send_event({}).json()["error"]["code"] == "invalid_signature"
    response = requests.post(f"{live_server}/partner/v1/events", json={}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["details"]["missing_headers"] == [
        "X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature"]


def test_an_old_timestamp_is_refused_as_stale(app, live_server, partner, bound_user):
    partner_id, client = partner
    headers, binding = bound_user()
    response = client.send_event(bike_event(binding), timestamp=int(time.time()) - 301 - 5)
    assert response.status_code == 401 and response.json()["error"]["code"] == "stale_timestamp"
    assert ledger(live_server, headers) == []
    future = client.send_event(bike_event(binding), timestamp=int(time.time()) + 600)
    assert future.json()["error"]["code"] == "stale_timestamp"
    assert client.send_event(bike_event(binding), timestamp=int(time.time()) - 120).status_code == 201


def test_a_reused_nonce_is_refused_even_for_another_event(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    assert client.send_event(bike_event(binding, "ride-a"), nonce="n" * 32).status_code == 201
    replayed = client.send_event(bike_event(binding, "ride-b", start=ago(hours=5)), nonce="n" * 32)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "nonce_reused"
    assert len(ledger(live_server, headers)) == 1


def test_an_unknown_or_revoked_binding_is_refused(app, live_server, partner, bound_user):
    partner_id, client = partner
    headers, binding = bound_user()
    unknown = client.send_event(bike_event("pb_nobody-approved-this"))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_binding"
    gone = requests.delete(f"{live_server}/api/v1/partner-bindings/{binding}", headers=headers, timeout=10)
    assert gone.status_code == 204
    revoked = client.send_event(bike_event(binding))
    assert revoked.status_code == 422 and revoked.json()["error"]["code"] == "unknown_binding"
    assert ledger(live_server, headers) == []
    assert audit_trail(app, partner_id) == [("refused", "unknown_binding")] * 2


def test_another_partners_binding_is_unknown_to_this_partner(live_server, partner, make_partner, bound_user):
    _, metro = partner
    bikes_id, _ = make_partner("哈啰单车")
    _, bikes_binding = bound_user(partner_id=bikes_id)
    response = metro.send_event(bike_event(bikes_binding))
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_binding"


def test_a_suspended_partner_is_refused_until_resumed(app, live_server, partner, bound_user):
    partner_id, client = partner
    headers, binding = bound_user()
    with app.app_context():
        partners.set_suspended(partner_id, True, staff_id=None)
    refused = client.send_event(bike_event(binding))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "partner_suspended"
    assert ledger(live_server, headers) == []
    with app.app_context():
        partners.set_suspended(partner_id, False, staff_id=None)
    assert client.send_event(bike_event(binding)).status_code == 201


def test_a_partner_reports_only_the_behaviours_it_was_granted(live_server, make_partner, bound_user):
    partner_id, bikes = make_partner("哈啰单车", kinds=("travel",))
    _, binding = bound_user(partner_id=partner_id)
    response = bikes.send_event({"event_id": "w-1", "binding_id": binding, "kind": "recycling",
                                 "subtype": "paper", "weight_kg": "2", "occurred_at": ago(hours=1).isoformat()})
    assert response.status_code == 403 and response.json()["error"]["code"] == "kind_not_allowed"


@pytest.mark.parametrize("change, field", [
    ({"distance_km": "-1"}, "distance_km"),
    ({"distance_km": "1.2345"}, "distance_km"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"subtype": "car"}, "subtype"),
    ({"distance_km": "200"}, "distance_km"),  # 200 km in 20 minutes
    ({"event_id": ""}, "event_id"),
    ({"route": [{"lat": 95, "lng": 0}, {"lat": 0, "lng": 0}]}, "route"),
])
def test_malformed_events_are_validation_errors(live_server, partner, bound_user, change, field):
    _, client = partner
    _, binding = bound_user()
    response = client.send_event({**bike_event(binding), **change})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["field"].startswith(field)


def test_recycling_sorting_and_meals_earn_their_factor(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    when = ago(hours=1).isoformat()
    paper = client.send_event({"event_id": "w-1", "binding_id": binding, "kind": "recycling", "subtype": "paper",
                               "weight_kg": "2.5", "occurred_at": when})
    sorting = client.send_event({"event_id": "s-1", "binding_id": binding, "kind": "sorting", "subtype": "kitchen",
                                 "count": 2, "occurred_at": when})
    lunch = {"event_id": "m-1", "binding_id": binding, "kind": "meal", "meal": "lunch", "occurred_at": when}
    meal = client.send_event(lunch)
    assert [r.status_code for r in (paper, sorting, meal)] == [201, 201, 201]
    assert [r.json()["record"]["co2_g"] for r in (paper, sorting, meal)] == [13550, 136, 96]
    second_lunch = client.send_event({**lunch, "event_id": "m-2"})
    assert second_lunch.status_code == 409 and second_lunch.json()["error"]["code"] == "duplicate_record"
    assert Decimal(str(account(live_server, headers)["balance_points"])) == Decimal("1378.2")


def test_sorting_counts_are_capped_per_day(live_server, partner, bound_user):
    _, client = partner
    _, binding = bound_user()
    event = {"binding_id": binding, "kind": "sorting", "subtype": "kitchen", "count": 2,
             "occurred_at": ago(minutes=5).isoformat()}
    first = client.send_event({**event, "event_id": "s-1"}).json()["record"]
    second = client.send_event({**event, "event_id": "s-2"}).json()["record"]
    assert (first["quantity"], second["quantity"]) == (2, 1)  # the default cap is 3 a day
    third = client.send_event({**event, "event_id": "s-3"})
    assert third.status_code == 409 and third.json()["error"]["code"] == "daily_limit_reached"


def test_the_signed_path_includes_the_query(live_server, partner):
    _, client = partner
    response = client.request("GET", "/partner/v1/me?verbose=1")
    assert response.status_code == 200 and response.json()["name"] == "上海地铁"
    body = b""
    headers = client.signed_headers("GET", "/partner/v1/me", body)
    tampered = requests.get(f"{live_server}/partner/v1/me?verbose=1", headers=headers, timeout=10)
    assert tampered.json()["error"]["code"] == "invalid_signature"


def test_one_signed_request_replayed_5_times_at_once_passes_once(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    body = json.dumps(bike_event(binding)).encode()
    signed = client.signed_headers("POST", "/partner/v1/events", body)
    responses = race(5, lambda _: requests.post(f"{live_server}/partner/v1/events", data=body, headers=signed,
                                                timeout=30))
    assert sorted(r.status_code for r in responses) == [201, 401, 401, 401, 401]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 401} == {"nonce_reused"}
    assert len(ledger(live_server, headers)) == 1


def test_a_deleted_account_is_an_unknown_binding(live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user()
    assert requests.delete(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 204
    response = client.send_event(bike_event(binding))
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_binding"


def test_unknown_paths_and_methods_under_the_partner_api_answer_in_the_envelope(live_server):
    missing = requests.get(f"{live_server}/partner/v1/nothing", timeout=10)
    wrong_method = requests.get(f"{live_server}/partner/v1/events", timeout=10)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")
