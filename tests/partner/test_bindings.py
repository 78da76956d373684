"""The mini program's approvals: a user binds a partner, sees it, and revokes it; only their own."""

from __future__ import annotations

import requests
from sqlalchemy import select

from app.extensions import db
from app.models.partners import PartnerBinding, PartnerEvent
from tests.partner.conftest import ago, bike_event
from tests.races import live_login


def test_a_user_binds_a_partner_once_lists_it_and_revokes_it(app, live_server, partner):
    partner_id, _ = partner
    headers = live_login(live_server, app, "alice")
    offered = requests.get(f"{live_server}/api/v1/partners", headers=headers, timeout=10).json()["items"]
    assert [p["id"] for p in offered] == [partner_id]
    first = requests.post(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10,
                          json={"partner_id": partner_id})
    again = requests.post(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10,
                          json={"partner_id": partner_id})
    assert (first.status_code, again.status_code) == (201, 200)
    binding = first.json()
    assert again.json()["id"] == binding["id"] and binding["id"].startswith("pb_")
    assert "openid" not in str(binding) and binding["partner"]["name"] == "上海地铁"
    listed = requests.get(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10).json()
    assert [b["id"] for b in listed["items"]] == [binding["id"]]
    url = f"{live_server}/api/v1/partner-bindings/{binding['id']}"
    assert requests.delete(url, headers=headers, timeout=10).status_code == 204
    assert requests.get(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10).json()["items"] == []


def test_a_user_cannot_revoke_someone_elses_binding(app, live_server, partner, bound_user):
    _, binding = bound_user("alice")
    mallory = live_login(live_server, app, "mallory")
    response = requests.delete(f"{live_server}/api/v1/partner-bindings/{binding}", headers=mallory, timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_binding_needs_login_and_an_existing_partner(app, live_server, partner):
    anonymous = requests.post(f"{live_server}/api/v1/partner-bindings", json={"partner_id": partner[0]}, timeout=10)
    assert anonymous.status_code == 401
    headers = live_login(live_server, app, "alice")
    missing = requests.post(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10,
                            json={"partner_id": 999999})
    assert missing.status_code == 404
    malformed = requests.post(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10,
                              json={"partner_id": "one"})
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "validation_error"


def test_deleting_the_account_revokes_its_bindings_and_clears_the_routes_partners_sent(
        app, live_server, partner, bound_user):
    _, client = partner
    headers, binding = bound_user("alice")
    event = {**bike_event(binding, event_id="ride-before-deletion"),
             "route": [{"lat": 31.23, "lng": 121.47}, {"lat": 31.25, "lng": 121.49}]}
    assert client.send_event(event).status_code == 201, "the partner was credited before the deletion"
    exported = requests.get(f"{live_server}/api/v1/me/export", headers=headers, timeout=10).json()
    assert [b["id"] for b in exported["partner_bindings"]] == [binding]

    assert requests.delete(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 204
    later = client.send_event(bike_event(binding, event_id="ride-after-deletion", start=ago(hours=1)))
    assert later.status_code == 422 and later.json()["error"]["code"] == "unknown_binding"
    with app.app_context():
        stored = db.session.scalars(select(PartnerEvent).where(PartnerEvent.binding_id.is_not(None))).all()
        assert stored and all(e.payload is None for e in stored)
        assert db.session.scalar(select(PartnerBinding.revoked_at).where(PartnerBinding.public_id == binding))
