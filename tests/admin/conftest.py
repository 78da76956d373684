"""Admin fixtures: staff accounts, logged-in clients, pending photo records."""

from __future__ import annotations

import pytest

from tests.admin.factories import create_staff, dev_login, jpeg, log_in, upload_photo


@pytest.fixture
def moderator(app) -> str:
    create_staff(app, "mod-mei", "moderator")
    return "mod-mei"


@pytest.fixture
def admin(app) -> str:
    create_staff(app, "admin-an", "admin")
    return "admin-an"


@pytest.fixture
def moderator_client(app, moderator):
    client = app.test_client()
    assert log_in(client, moderator).status_code == 302
    return client


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert log_in(client, admin).status_code == 302
    return client


@pytest.fixture
def pending_photos(app):
    """Make pending photo records: `pending_photos(3)` uploads three, each from its own user."""
    seeds = iter(range(1000))

    def _make(count: int = 1, kind: str = "sorting", **fields: str) -> list[dict]:
        api = app.test_client()
        records = []
        for _ in range(count):
            seed = next(seeds)
            headers = dev_login(api, app, f"user{seed}")
            records.append(upload_photo(api, headers, jpeg(seed), kind, **fields))
        return records

    return _make
