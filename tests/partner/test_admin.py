"""The admin's partner pages: create a partner and see its secret once, suspend it, read its events."""

from __future__ import annotations

import re

from tests.admin.factories import csrf_token
from tests.partner.client import PartnerClient
from tests.partner.conftest import bike_event

_KEY = re.compile(r'id="key-id">([^<]+)<')
_SECRET = re.compile(r'id="secret">([^<]+)<')


def partner_id_of(admin_client, key_id: str) -> int:
    listing = admin_client.get("/admin/partners").get_data(as_text=True)
    return int(re.search(rf'id="partner-(\d+)">(?:(?!</tr>).)*?{key_id}', listing, re.DOTALL).group(1))


def create_partner(admin_client, name: str = "哈啰单车", kinds=("travel",)):
    token = csrf_token(admin_client, "/admin/partners")
    return admin_client.post("/admin/partners", data={"csrf_token": token, "name": name, "kinds": list(kinds)})


def test_an_admin_creates_a_partner_and_sees_the_secret_only_once(app, admin_client, live_server, bound_user):
    page = create_partner(admin_client)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    key_id, secret = _KEY.search(html).group(1), _SECRET.search(html).group(1)
    assert page.headers["Cache-Control"] == "private, no-store"
    listing = admin_client.get("/admin/partners").get_data(as_text=True)
    assert "哈啰单车" in listing and key_id in listing and secret not in listing
    # The credentials shown work: a partner client signs with them and is credited.
    partner_id = partner_id_of(admin_client, key_id)
    _, binding = bound_user(partner_id=partner_id)
    response = PartnerClient(live_server, key_id, secret).send_event(bike_event(binding))
    assert response.status_code == 201, response.text


def test_a_partner_form_without_csrf_or_kinds_is_refused(admin_client):
    assert admin_client.post("/admin/partners", data={"name": "x", "kinds": ["travel"]}).status_code == 400
    token = csrf_token(admin_client, "/admin/partners")
    page = admin_client.post("/admin/partners", data={"csrf_token": token, "name": "无行为"})
    assert page.status_code == 422 and "至少选择一种行为" in page.get_data(as_text=True)


def test_suspending_from_the_admin_refuses_the_partner_and_the_refusal_is_in_its_events(
        app, admin_client, live_server, bound_user):
    html = create_partner(admin_client).get_data(as_text=True)
    client = PartnerClient(live_server, _KEY.search(html).group(1), _SECRET.search(html).group(1))
    partner_id = partner_id_of(admin_client, client.key_id)
    _, binding = bound_user(partner_id=partner_id)
    token = csrf_token(admin_client, "/admin/partners")
    assert admin_client.post(f"/admin/partners/{partner_id}/status",
                             data={"csrf_token": token, "action": "suspend"}).status_code == 302
    refused = client.send_event(bike_event(binding))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "partner_suspended"
    events = admin_client.get(f"/admin/partners/{partner_id}/events?status=refused").get_data(as_text=True)
    assert "partner_suspended" in events
    token = csrf_token(admin_client, "/admin/partners")
    admin_client.post(f"/admin/partners/{partner_id}/status", data={"csrf_token": token, "action": "resume"})
    assert client.send_event(bike_event(binding, event_id="ride-2")).status_code == 201


def test_rotating_the_secret_voids_the_old_one(admin_client, live_server):
    html = create_partner(admin_client).get_data(as_text=True)
    old = PartnerClient(live_server, _KEY.search(html).group(1), _SECRET.search(html).group(1))
    partner_id = partner_id_of(admin_client, old.key_id)
    token = csrf_token(admin_client, "/admin/partners")
    rotated = admin_client.post(f"/admin/partners/{partner_id}/rotate", data={"csrf_token": token})
    new_secret = _SECRET.search(rotated.get_data(as_text=True)).group(1)
    assert new_secret != old.secret
    assert old.request("GET", "/partner/v1/me").json()["error"]["code"] == "invalid_signature"
    assert PartnerClient(live_server, old.key_id, new_secret).request("GET", "/partner/v1/me").status_code == 200


def test_moderators_cannot_open_the_partner_pages(moderator_client):
    assert moderator_client.get("/admin/partners").status_code == 403


def test_posting_the_create_form_again_makes_no_second_partner(admin_client):
    """A refreshed credentials page re-posts the form: refused, and the first secret stays the only one."""
    token = csrf_token(admin_client, "/admin/partners")
    form = {"csrf_token": token, "name": "地铁集团", "kinds": ["travel"]}
    assert admin_client.post("/admin/partners", data=form).status_code == 200
    again = admin_client.post("/admin/partners", data=form)
    assert again.status_code == 409 and "已有同名合作方" in again.get_data(as_text=True)
    assert _SECRET.search(again.get_data(as_text=True)) is None
    assert admin_client.get("/admin/partners").get_data(as_text=True).count("地铁集团") == 1
