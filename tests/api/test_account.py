"""The user's own account, records and ledger: totals that add up, pages, and nobody else's data."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import LedgerEntry, User
from app.services import ledger
from tests.api.test_bedtimes import post_bedtime


def test_new_account_is_empty(client, login):
    body = client.get("/api/v1/me", headers=login()).get_json()
    assert body["account"] == {"balance_points": 0, "earned_points_year": 0, "spent_points_total": 0,
                               "co2_g_total": 0, "co2_g_year": 0}


def test_account_totals_follow_credits(client, login):
    headers = login()
    post_bedtime(client, headers, "21:30")  # 90 min: 116.40 g, 11.6 points
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert account == {"balance_points": 11.6, "earned_points_year": 11.6, "spent_points_total": 0,
                       "co2_g_total": 116.4, "co2_g_year": 116.4}


def test_profile_can_be_updated_and_unknown_fields_are_422(client, login):
    headers = login()
    response = client.patch("/api/v1/me", headers=headers,
                            json={"nickname": "小绿", "city": "上海", "avatar_url": "https://example.com/a.png"})
    assert response.status_code == 200
    assert response.get_json()["nickname"] == "小绿"
    assert client.get("/api/v1/me", headers=headers).get_json()["user"]["city"] == "上海"
    for body in ({"openid": "x"}, {"nickname": 5}, {"nickname": "n" * 65}, {"avatar_url": "javascript:1"}):
        response = client.patch("/api/v1/me", headers=headers, json=body)
        assert response.status_code == 422, body
    assert client.get("/api/v1/me", headers=headers).get_json()["user"]["nickname"] == "小绿"


def test_records_and_ledger_show_only_the_users_own_rows(client, login):
    ann, ben = login("ann"), login("ben")
    post_bedtime(client, ann, "22:00")
    assert client.get("/api/v1/records", headers=ben).get_json() == {"items": [], "next_cursor": None}
    assert client.get("/api/v1/ledger", headers=ben).get_json() == {"items": [], "next_cursor": None}
    entries = client.get("/api/v1/ledger", headers=ann).get_json()["items"]
    record = client.get("/api/v1/records", headers=ann).get_json()["items"][0]
    assert entries[0]["record_id"] == record["id"] and entries[0]["reason"] == "record_credit"


def test_records_filter_by_kind_and_status(client, login):
    headers = login()
    post_bedtime(client, headers, "22:00")
    assert len(client.get("/api/v1/records?kind=bedtime&status=credited", headers=headers).get_json()["items"]) == 1
    assert client.get("/api/v1/records?kind=travel", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/records?kind=flying", headers=headers).status_code == 422


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=!!!", "cursor=aWQ6eA"])
def test_bad_paging_parameters_are_422(client, login, query):
    assert client.get(f"/api/v1/records?{query}", headers=login()).status_code == 422


def test_pages_follow_the_cursor_newest_first(client, login, app):
    headers = login("pager")
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
        for i in range(1, 6):
            ledger.post_entry(user_id, Decimal(i), "test_credit")
    seen, cursor = [], None
    while True:
        url = "/api/v1/ledger?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [e["points"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 5
