"""排行榜 over the API: friends and everyone, the shape of the board, and what counts as earned."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import LedgerReason, User
from app.services import ledger
from tests.api.test_bedtimes import post_bedtime
from tests.api.test_friends import invite, make_friends, me


def board(client, headers, query: str = "") -> dict:
    response = client.get(f"/api/v1/leaderboard{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_new_user_alone_on_the_friends_board_of_the_year(client, login):
    headers = login()
    user = me(client, headers)
    assert board(client, headers) == {
        "items": [{"rank": 1, "user": {"id": user["id"], "nickname": None, "avatar_url": None}, "points": 0}],
        "me": {"rank": 1, "points": 0},
    }


def test_friends_with_equal_points_share_a_rank(client, login):
    ann, ben, cat = login("ann"), login("ben"), login("cat")
    make_friends(client, ann, ben)
    make_friends(client, ann, cat)
    client.patch("/api/v1/me", headers=ben, json={"nickname": "小本"})
    post_bedtime(client, ann, "22:00")  # 7.8 points
    post_bedtime(client, ben, "22:00")  # 7.8 points
    # cat's board: cat and ann (ben is ann's friend, not cat's)
    body = board(client, cat, "?scope=friends&period=week")
    assert [(i["user"]["id"], i["rank"], i["points"]) for i in body["items"]] == [
        (me(client, ann)["id"], 1, 7.8), (me(client, cat)["id"], 2, 0)]
    assert body["me"] == {"rank": 2, "points": 0}
    ann_board = board(client, ann, "?period=month")
    assert [(i["rank"], i["points"]) for i in ann_board["items"]] == [(1, 7.8), (1, 7.8), (3, 0)]
    assert ann_board["me"] == {"rank": 1, "points": 7.8}
    ben_user = {"id": me(client, ben)["id"], "nickname": "小本", "avatar_url": None}
    assert ben_user in [i["user"] for i in ann_board["items"]]


def test_the_global_board_lists_the_top_n_and_my_rank(client, login):
    users = [login(f"u{i}") for i in range(4)]
    for headers, bedtime in zip(users, ("21:00", "22:00", "22:00", "22:30"), strict=True):
        post_bedtime(client, headers, bedtime)  # 15.5, 7.8, 7.8, 3.9 points
    idle = login("idle")
    body = board(client, users[3], "?scope=all&limit=2")
    assert [(i["rank"], i["points"]) for i in body["items"]] == [(1, 15.5), (2, 7.8)]
    assert body["me"] == {"rank": 4, "points": 3.9}
    assert board(client, idle, "?scope=all")["me"] == {"rank": 5, "points": 0}
    assert [i["rank"] for i in board(client, idle, "?scope=all")["items"]] == [1, 2, 2, 4]
    assert set(body["items"][0]) == {"rank", "user", "points"}
    assert set(body["items"][0]["user"]) == {"id", "nickname", "avatar_url"}


def test_points_are_written_with_one_place(client, login):
    headers = login()
    post_bedtime(client, headers, "22:00")
    raw = client.get("/api/v1/leaderboard?scope=all", headers=headers).get_data(as_text=True)
    assert '"points": 7.8' in raw
    assert '"points": 0.0' in client.get("/api/v1/leaderboard", headers=login("idle")).get_data(as_text=True)


@pytest.mark.parametrize("query, field", [
    ("?scope=city", "scope"), ("?period=day", "period"), ("?scope=all&limit=0", "limit"),
    ("?scope=all&limit=101", "limit"), ("?period=", None),
])
def test_bad_board_parameters_are_422(client, login, query, field):
    response = client.get(f"/api/v1/leaderboard{query}", headers=login())
    if field is None:  # an empty value means the default
        assert response.status_code == 200
        return
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["field"] == field


def test_the_board_needs_a_login(client):
    response = client.get("/api/v1/leaderboard")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_a_refunded_redemption_is_not_an_earning(client, login, app):
    headers = login()
    post_bedtime(client, headers, "22:00")  # 7.8
    user_id = me(client, headers)["id"]
    with app.app_context():
        ledger.post_entry(user_id, Decimal("-5.0"), LedgerReason.REDEMPTION)
        ledger.post_entry(user_id, Decimal("5.0"), LedgerReason.REDEMPTION_CANCEL)
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert account["balance_points"] == 7.8 and account["earned_points_year"] == 7.8
    assert board(client, headers, "?scope=all")["me"] == {"rank": 1, "points": 7.8}


def test_a_deleted_friend_leaves_the_board(client, login, app):
    ann, ben = login("ann"), login("ben")
    make_friends(client, ann, ben)
    post_bedtime(client, ben, "21:00")
    ben_id = me(client, ben)["id"]
    with app.app_context():
        db.session.get(User, ben_id).deleted_at = datetime.now(UTC)
        db.session.commit()
    assert [i["user"]["id"] for i in board(client, ann)["items"]] == [me(client, ann)["id"]]
    assert board(client, ann, "?scope=all")["items"] == []
    assert invite(client, ann)["code"]
