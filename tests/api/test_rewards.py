"""Rewards on offer, redeeming them for coupons, the user's own redemptions, and reward images."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import LedgerEntry, LedgerReason, Redemption, Reward
from app.services import clock, ledger, rewards
from tests.admin.factories import jpeg

COUPON = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{16}$")


def make_reward(app, *, title: str = "共享单车 7 天骑行券", cost: str = "30.0", stock: int = 10,
                starts_in: timedelta = timedelta(days=-1), lasts: timedelta = timedelta(days=30),
                active: bool = True, image: bytes | None = None) -> int:
    """A reward made through the service the admin uses."""
    with app.app_context():
        start = clock.now() + starts_in
        draft = rewards.RewardDraft(title=title, description="凭券码在合作网点使用", cost_points=Decimal(cost),
                                    stock_total=stock, valid_from=start, valid_until=start + lasts, active=active)
        return rewards.create_reward(draft, image).id


def user_id(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["user"]["id"]


def give_points(app, uid: int, points: str = "100.0") -> None:
    with app.app_context():
        ledger.post_entry(uid, Decimal(points), LedgerReason.RECORD_CREDIT)


@pytest.fixture
def member(client, login, app):
    """A logged-in user with 100 points: (headers, user id)."""
    headers = login("member")
    uid = user_id(client, headers)
    give_points(app, uid, "100.0")
    return headers, uid


def redeem(client, headers, reward_id, **extra_headers):
    return client.post(f"/api/v1/rewards/{reward_id}/redemptions", headers={**headers, **extra_headers})


def stock_left(app, reward_id) -> int:
    with app.app_context():
        return db.session.get(Reward, reward_id).stock_left


def balance(client, headers):
    return client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"]


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# --- GET /rewards ------------------------------------------------------------------------------------

def test_rewards_on_offer_are_the_active_ones_within_their_validity_newest_first(app, client, login):
    older = make_reward(app, title="地铁乘车券")
    sold_out = make_reward(app, title="环保购物袋", stock=0)
    make_reward(app, title="已下架", active=False)
    make_reward(app, title="已过期", starts_in=timedelta(days=-40))
    make_reward(app, title="未开始", starts_in=timedelta(days=2))
    items = client.get("/api/v1/rewards", headers=login()).get_json()["items"]
    assert [i["id"] for i in items] == [sold_out, older]
    first = items[1]
    assert set(first) == {"id", "title", "description", "cost_points", "stock_left", "stock_total", "valid_from",
                          "valid_until", "image_url"}
    assert first["cost_points"] == 30.0 and first["stock_left"] == 10 and first["image_url"] is None
    assert first["valid_until"].endswith("+00:00")
    assert items[0]["stock_left"] == 0  # sold out: still shown, as "已兑完"


def test_rewards_come_a_page_at_a_time(app, client, login):
    ids = [make_reward(app, title=f"奖励 {i}") for i in range(3)]
    headers = login()
    page = client.get("/api/v1/rewards?limit=2", headers=headers).get_json()
    assert [i["id"] for i in page["items"]] == ids[:0:-1] and page["next_cursor"]
    rest = client.get(f"/api/v1/rewards?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert client.get("/api/v1/rewards?limit=101", headers=headers).status_code == 422
    assert client.get("/api/v1/rewards?cursor=nonsense", headers=headers).status_code == 422


@pytest.mark.parametrize("method, path", [("get", "/api/v1/rewards"), ("post", "/api/v1/rewards/1/redemptions"),
                                          ("get", "/api/v1/redemptions")])
def test_rewards_and_redemptions_need_a_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401 and error_code(response) == "unauthorized"


# --- POST /rewards/<id>/redemptions --------------------------------------------------------------------

def test_redeeming_takes_stock_and_points_and_issues_a_coupon(app, client, member):
    headers, uid = member
    reward_id = make_reward(app, cost="30.5", stock=3)
    response = redeem(client, headers, reward_id)
    assert response.status_code == 201
    body = response.get_json()
    assert body["reward_id"] == reward_id and body["points"] == 30.5 and body["balance_points"] == 69.5
    assert body["status"] == "issued" and body["reward_title"] == "共享单车 7 天骑行券"
    assert COUPON.match(body["coupon_code"])
    assert stock_left(app, reward_id) == 2
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert account["balance_points"] == 69.5 and account["spent_points_total"] == 30.5
    entry = client.get("/api/v1/ledger", headers=headers).get_json()["items"][0]
    assert entry["points"] == -30.5 and entry["reason"] == "redemption" and entry["redemption_id"] == body["id"]


def test_every_coupon_code_is_different(app, client, member):
    headers, _ = member
    reward_id = make_reward(app, cost="1.0", stock=20)
    codes = {redeem(client, headers, reward_id).get_json()["coupon_code"] for _ in range(20)}
    assert len(codes) == 20


def test_not_enough_points_is_409_and_changes_nothing(app, client, login):
    headers = login("poor")
    give_points(app, user_id(client, headers), "29.9")
    reward_id = make_reward(app, cost="30.0", stock=1)
    response = redeem(client, headers, reward_id)
    assert response.status_code == 409 and error_code(response) == "insufficient_points"
    assert stock_left(app, reward_id) == 1  # the stock taken in the transaction went back with it
    assert balance(client, headers) == 29.9
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)) == 0


def test_a_sold_out_reward_is_409_out_of_stock(app, client, member):
    headers, _ = member
    reward_id = make_reward(app, stock=1)
    assert redeem(client, headers, reward_id).status_code == 201
    response = redeem(client, headers, reward_id)
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    assert balance(client, headers) == 70.0 and stock_left(app, reward_id) == 0


def test_unknown_and_withdrawn_rewards_are_404(app, client, member):
    headers, _ = member
    withdrawn = make_reward(app, active=False)
    for reward_id in (withdrawn, withdrawn + 1000):
        response = redeem(client, headers, reward_id)
        assert response.status_code == 404 and error_code(response) == "not_found"
    assert balance(client, headers) == 100.0


@pytest.mark.parametrize("starts_in", [timedelta(days=-40), timedelta(hours=1)], ids=["expired", "not-yet"])
def test_a_reward_outside_its_validity_is_422_reward_unavailable(app, client, member, starts_in):
    headers, _ = member
    reward_id = make_reward(app, starts_in=starts_in)
    response = redeem(client, headers, reward_id)
    assert response.status_code == 422 and error_code(response) == "reward_unavailable"
    assert set(response.get_json()["error"]["details"]) == {"valid_from", "valid_until"}
    assert stock_left(app, reward_id) == 10 and balance(client, headers) == 100.0


def test_a_retried_redemption_with_the_same_key_redeems_once(app, client, member):
    headers, _ = member
    reward_id = make_reward(app)
    first = redeem(client, headers, reward_id, **{"Idempotency-Key": "redeem-1"})
    again = redeem(client, headers, reward_id, **{"Idempotency-Key": "redeem-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert stock_left(app, reward_id) == 9 and balance(client, headers) == 70.0
    other = redeem(client, headers, reward_id, **{"Idempotency-Key": "redeem-2"})
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


def test_a_refusal_under_an_idempotency_key_is_replayed_and_rolls_back(app, client, login):
    headers = login("poor")
    reward_id = make_reward(app)
    first = redeem(client, headers, reward_id, **{"Idempotency-Key": "too-poor"})
    give_points(app, user_id(client, headers), "100.0")
    again = redeem(client, headers, reward_id, **{"Idempotency-Key": "too-poor"})
    assert first.status_code == again.status_code == 409 and error_code(again) == "insufficient_points"
    assert stock_left(app, reward_id) == 10


def test_a_coupon_code_that_collides_is_drawn_again(app, client, member, monkeypatch):
    headers, _ = member
    reward_id = make_reward(app)
    taken = redeem(client, headers, reward_id).get_json()["coupon_code"]
    draws = iter([taken, taken, "ABCDEFGHJKMNPQRS"])
    monkeypatch.setattr(rewards, "new_coupon_code", lambda: next(draws))
    response = redeem(client, headers, reward_id)
    assert response.status_code == 201 and response.get_json()["coupon_code"] == "ABCDEFGHJKMNPQRS"
    assert stock_left(app, reward_id) == 8 and balance(client, headers) == 40.0


# --- GET /redemptions ----------------------------------------------------------------------------------

def test_users_see_their_own_redemptions_newest_first(app, client, member, login):
    headers, _ = member
    bike, bag = make_reward(app, title="骑行券", cost="10.0"), make_reward(app, title="购物袋", cost="5.0")
    first = redeem(client, headers, bike).get_json()
    second = redeem(client, headers, bag).get_json()
    items = client.get("/api/v1/redemptions", headers=headers).get_json()["items"]
    assert [i["id"] for i in items] == [second["id"], first["id"]]
    assert items[0] == {"id": second["id"], "reward_id": bag, "reward_title": "购物袋",
                        "coupon_code": second["coupon_code"], "points": 5.0, "status": "issued",
                        "created_at": items[0]["created_at"], "cancelled_at": None}
    assert client.get("/api/v1/redemptions", headers=login("stranger")).get_json() == {"items": [],
                                                                                      "next_cursor": None}


def test_cancelled_redemptions_show_as_cancelled_and_filter_by_status(app, client, member):
    headers, _ = member
    reward_id = make_reward(app)
    kept, cancelled = (redeem(client, headers, reward_id).get_json() for _ in range(2))
    with app.app_context():
        rewards.cancel_redemption(cancelled["id"], staff_id=None)
    items = client.get("/api/v1/redemptions?status=cancelled", headers=headers).get_json()["items"]
    assert [(i["id"], i["status"]) for i in items] == [(cancelled["id"], "cancelled")] and items[0]["cancelled_at"]
    issued = client.get("/api/v1/redemptions?status=issued", headers=headers).get_json()["items"]
    assert [i["id"] for i in issued] == [kept["id"]]
    assert client.get("/api/v1/redemptions?status=used", headers=headers).status_code == 422
    assert balance(client, headers) == 70.0


def test_redemptions_come_a_page_at_a_time(app, client, member):
    headers, _ = member
    reward_id = make_reward(app, cost="1.0")
    ids = [redeem(client, headers, reward_id).get_json()["id"] for _ in range(3)]
    page = client.get("/api/v1/redemptions?limit=2", headers=headers).get_json()
    rest = client.get(f"/api/v1/redemptions?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [i["id"] for i in page["items"] + rest["items"]] == ids[::-1] and rest["next_cursor"] is None


# --- Images ---------------------------------------------------------------------------------------------

def _jpeg_with_gps() -> bytes:
    image = Image.open(io.BytesIO(jpeg(7)))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_rewards_image_is_public_and_carries_no_metadata(app, client, login):
    reward_id = make_reward(app, image=_jpeg_with_gps())
    item = client.get("/api/v1/rewards", headers=login()).get_json()["items"][0]
    assert item["image_url"].startswith(f"/api/v1/rewards/{reward_id}/image?v=")
    response = client.get(item["image_url"])  # no Authorization: an <image> tag sends none
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert b"Exif" not in response.data and not Image.open(io.BytesIO(response.data)).getexif()


def test_a_reward_without_an_image_is_404(app, client):
    reward_id = make_reward(app)
    for path in (f"/api/v1/rewards/{reward_id}/image", f"/api/v1/rewards/{reward_id + 99}/image"):
        response = client.get(path)
        assert response.status_code == 404 and error_code(response) == "not_found"


def test_redemption_debits_are_ledger_entries_tied_to_their_redemption(app, client, member):
    headers, uid = member
    body = redeem(client, headers, make_reward(app)).get_json()
    with app.app_context():
        entry = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.redemption_id == body["id"])).one()
        assert (entry.user_id, entry.points, entry.reason) == (uid, Decimal("-30.0"), LedgerReason.REDEMPTION)


def test_a_cancelled_redemption_undoes_the_spending_and_earns_nothing(app, client, member):
    headers, _ = member
    reward_id = make_reward(app, cost="30.0")
    redemption = redeem(client, headers, reward_id).get_json()
    spent = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert (spent["balance_points"], spent["spent_points_total"]) == (70, 30)
    with app.app_context():
        rewards.cancel_redemption(redemption["id"], None)
    account = client.get("/api/v1/me", headers=headers).get_json()["account"]
    assert (account["balance_points"], account["spent_points_total"], account["earned_points_year"]) == (100, 0, 100)
