"""Partner fixtures: a partner with its credentials (made as the admin page makes it), a bound user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from app.services import partners
from tests.admin.conftest import admin, admin_client, moderator, moderator_client  # noqa: F401  (fixtures)
from tests.partner.client import PartnerClient
from tests.races import live_login


@pytest.fixture
def make_partner(app, live_server):
    def _make(name: str = "上海地铁", kinds: tuple[str, ...] = ("travel", "recycling", "sorting", "meal")):
        with app.app_context():
            partner, secret = partners.create_partner(name, list(kinds), staff_id=None)
            return partner.id, PartnerClient(live_server, partner.key_id, secret)

    return _make


@pytest.fixture
def partner(make_partner) -> tuple[int, PartnerClient]:
    return make_partner()


@pytest.fixture
def bound_user(app, live_server, partner):
    """A user who approved the partner in the mini program: (bearer headers, binding id)."""

    def _bind(name: str = "alice", partner_id: int | None = None) -> tuple[dict, str]:
        headers = live_login(live_server, app, name)
        response = requests.post(f"{live_server}/api/v1/partner-bindings", headers=headers, timeout=10,
                                 json={"partner_id": partner_id or partner[0]})
        assert response.status_code == 201, response.text
        return headers, response.json()["id"]

    return _bind


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def bike_event(binding_id: str, event_id: str = "ride-1", km: str = "4.2", start: datetime | None = None,
               minutes: int = 20, mode: str = "bike") -> dict:
    start = start or ago(hours=2)
    return {"event_id": event_id, "binding_id": binding_id, "kind": "travel", "subtype": mode,
            "distance_km": km, "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=minutes)).isoformat()}
