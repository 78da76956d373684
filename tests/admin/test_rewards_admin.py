"""The rewards admin: who may see it, creating and editing rewards, and cancelling redemptions."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, LedgerEntry, LedgerReason, Redemption, Reward
from app.services import rewards, users
from tests.admin.factories import csrf_token, jpeg
from tests.api.test_rewards import give_points, make_reward

FORM = {"title": "公交月票 9 折券", "description": "凭券码购买月票时使用", "cost_points": "120.5",
        "stock_total": "20", "valid_from": "2026-01-01T08:00", "valid_until": "2036-01-01T08:00", "active": "y"}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _post_form(client, url, image: bytes | None = None, **changes):
    data = {"csrf_token": csrf_token(client, url), **FORM, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    if image is not None:
        data["image"] = (io.BytesIO(image), "reward.jpg")
    return client.post(url, data=data, content_type="multipart/form-data")


def _rewards(app) -> list[Reward]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Reward).order_by(Reward.id)).all()
        db.session.expunge_all()
        return rows


def _customer(app, name: str, points: str = "500.0") -> int:
    with app.app_context():
        uid = users.login(f"dev:{name}", app.config["PRIVACY_POLICY_VERSION"]).user.id
    give_points(app, uid, points)
    return uid


def _redeem(app, uid: int, reward_id: int) -> Redemption:
    with app.app_context():
        redemption = rewards.redeem(uid, reward_id).redemption
        db.session.refresh(redemption)
        db.session.expunge(redemption)
        return redemption


def _balance(app, uid: int) -> Decimal:
    with app.app_context():
        from app.models import Account
        return db.session.get(Account, uid).balance_points


def _stored_files(app) -> list[Path]:
    return [p for p in (Path(app.config["UPLOAD_DIR"]) / "rewards").rglob("*") if p.is_file()]


# --- Access --------------------------------------------------------------------------------------------

PAGES = ["/admin/rewards", "/admin/rewards/new", "/admin/rewards/1", "/admin/redemptions",
         "/admin/redemptions?reward=1&status=issued&page=2"]


@pytest.mark.parametrize("url", ["/admin/rewards/new", "/admin/rewards/1", "/admin/redemptions/1/cancel"])
def test_anonymous_posts_are_sent_to_login(client, url):
    response = client.post(url, data={"csrf_token": csrf_token(client), **FORM})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"


@pytest.mark.parametrize("url", PAGES)
def test_moderators_may_not_see_the_rewards_pages(app, moderator_client, url):
    make_reward(app)
    assert moderator_client.get(url).status_code == 403


def test_moderators_may_not_edit_rewards_or_cancel_redemptions(app, moderator_client):
    reward_id = make_reward(app)
    redemption = _redeem(app, _customer(app, "buyer"), reward_id)
    token = csrf_token(moderator_client, "/admin/reviews")
    assert moderator_client.get(f"/admin/rewards/{reward_id}").status_code == 403
    assert moderator_client.post(f"/admin/rewards/{reward_id}", data={"csrf_token": token, **FORM}).status_code == 403
    assert moderator_client.post(f"/admin/redemptions/{redemption.id}/cancel",
                                 data={"csrf_token": token}).status_code == 403
    assert _rewards(app)[0].stock_left == 9


def test_the_navigation_shows_rewards_to_admins_only(admin_client, moderator_client):
    admin_page = _text(admin_client.get("/admin/reviews"))
    moderator_page = _text(moderator_client.get("/admin/reviews"))
    for link in ('href="/admin/rewards"', 'href="/admin/redemptions"'):
        assert link in admin_page and link not in moderator_page


# --- Creating and editing rewards --------------------------------------------------------------------------

def test_an_admin_creates_a_reward_that_the_mini_program_then_offers(app, admin_client, client, login):
    response = _post_form(admin_client, "/admin/rewards/new", image=jpeg(3))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/rewards"
    reward, = _rewards(app)
    assert (reward.title, reward.cost_points, reward.stock_total, reward.stock_left, reward.active) == (
        "公交月票 9 折券", Decimal("120.5"), 20, 20, True)
    # The form's times are Asia/Shanghai calendar times.
    assert reward.valid_from == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    page = _text(admin_client.get("/admin/rewards"))
    assert "已新建奖励「公交月票 9 折券」" in page and f'id="reward-{reward.id}"' in page and "兑换中" in page
    item, = client.get("/api/v1/rewards", headers=login()).get_json()["items"]
    assert item["title"] == "公交月票 9 折券" and item["cost_points"] == 120.5 and item["stock_left"] == 20
    assert item["image_url"] in page  # the admin shows the same public picture
    assert client.get(item["image_url"]).status_code == 200
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("reward_%"))).one()
        assert audit.action == "reward_created" and audit.details["reward_id"] == reward.id


def test_the_new_reward_form_carries_csrf_and_sensible_defaults(admin_client):
    page = _text(admin_client.get("/admin/rewards/new"))
    assert 'name="csrf_token"' in page and 'enctype="multipart/form-data"' in page
    assert re.search(r'name="valid_from"[^>]*value="\d{4}-\d\d-\d\dT\d\d:\d\d"', page)
    assert re.search(r'<input checked[^>]*name="active"', page)


@pytest.mark.parametrize("changes, message", [
    ({"title": ""}, "请输入名称"),
    ({"title": "长" * 101}, "名称至多 100 个字符"),
    ({"cost_points": ""}, "请输入所需积分"),
    ({"cost_points": "0"}, "所需积分须大于 0"),
    ({"cost_points": "-5"}, "所需积分须大于 0"),
    ({"cost_points": "1.25"}, "所需积分至多一位小数"),
    ({"cost_points": "abc"}, "所需积分须为数字"),
    ({"cost_points": "NaN"}, "所需积分须大于 0"),
    ({"stock_total": "-1"}, "库存总量须为 0–1000000 的整数"),
    ({"stock_total": "ten"}, "库存总量须为整数"),
    ({"valid_from": "tomorrow"}, "请按 年-月-日 时:分 填写时间"),
    ({"valid_until": "2025-12-31T08:00"}, "截止时间须晚于开始时间"),
])
def test_invalid_input_is_shown_beside_its_field_and_nothing_is_saved(app, admin_client, changes, message):
    response = _post_form(admin_client, "/admin/rewards/new", **changes)
    assert response.status_code == 422
    page = _text(response)
    assert message in page and "is-invalid" in page and 'id="form-errors"' in page
    assert _rewards(app) == []


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_stored(app, admin_client):
    response = _post_form(admin_client, "/admin/rewards/new", image=b"%PDF-1.7 not a picture")
    assert response.status_code == 415 and "只支持 JPEG、PNG、WebP 或 HEIC 照片" in _text(response)
    assert _rewards(app) == [] and _stored_files(app) == []


def test_changing_the_stock_total_moves_the_stock_left_by_the_difference(app, admin_client):
    reward_id = make_reward(app, stock=5)
    buyer = _customer(app, "buyer")
    for _ in range(2):
        _redeem(app, buyer, reward_id)
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", stock_total="8").status_code == 302
    assert (_rewards(app)[0].stock_total, _rewards(app)[0].stock_left) == (8, 6)
    refused = _post_form(admin_client, f"/admin/rewards/{reward_id}", stock_total="1")
    assert refused.status_code == 422 and "已兑换 2 件，库存总量不能少于 2" in _text(refused)
    assert (_rewards(app)[0].stock_total, _rewards(app)[0].stock_left) == (8, 6)
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", stock_total="2").status_code == 302
    assert (_rewards(app)[0].stock_total, _rewards(app)[0].stock_left) == (2, 0)


def test_the_edit_form_shows_the_reward_as_it_is(app, admin_client):
    reward_id = make_reward(app, title="旧衣回收袋", cost="12.5", stock=7)
    page = _text(admin_client.get(f"/admin/rewards/{reward_id}"))
    assert 'value="旧衣回收袋"' in page and 'value="12.5"' in page and 'value="7"' in page
    assert "已兑换 0 件，当前剩余 7 件" in page


def test_an_edit_without_a_new_picture_keeps_the_old_one_and_a_replacement_drops_it(app, admin_client):
    reward_id = make_reward(app, image=jpeg(1))
    first, = _stored_files(app)
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", title="改名").status_code == 302
    assert _stored_files(app) == [first] and _rewards(app)[0].title == "改名"
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", image=jpeg(2)).status_code == 302
    second, = _stored_files(app)
    assert second != first and _rewards(app)[0].image_key == second.name
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", remove_image="y").status_code == 302
    assert _stored_files(app) == [] and _rewards(app)[0].image_key is None


def test_a_withdrawn_reward_leaves_the_offer(app, admin_client, client, login):
    reward_id = make_reward(app)
    assert _post_form(admin_client, f"/admin/rewards/{reward_id}", active=None).status_code == 302
    assert client.get("/api/v1/rewards", headers=login()).get_json()["items"] == []
    assert "已下架" in _text(admin_client.get("/admin/rewards"))


def test_editing_an_unknown_reward_is_404(admin_client):
    assert admin_client.get("/admin/rewards/999").status_code == 404


# --- Redemptions ---------------------------------------------------------------------------------------

def test_redemptions_are_listed_newest_first_and_filter_by_reward_status_and_code(app, admin_client):
    bike, bag = make_reward(app, title="骑行券"), make_reward(app, title="购物袋")
    buyer = _customer(app, "buyer")
    first, second, third = _redeem(app, buyer, bike), _redeem(app, buyer, bag), _redeem(app, buyer, bike)
    with app.app_context():
        rewards.cancel_redemption(first.id, staff_id=None)

    def ids(query=""):
        page = _text(admin_client.get(f"/admin/redemptions{query}"))
        return [int(i) for i in re.findall(r'id="redemption-(\d+)"', page)]

    assert ids() == [third.id, second.id, first.id]
    assert ids(f"?reward={bike}") == [third.id, first.id]
    assert ids("?status=cancelled") == [first.id]
    assert ids(f"?reward={bike}&status=issued") == [third.id]
    code = second.coupon_code
    assert ids(f"?code={code[:4].lower()}-{code[4:8]}%20{code[8:]}") == [second.id]  # as a person types it
    page = _text(admin_client.get("/admin/redemptions"))
    assert page.count('action="/admin/redemptions/') == 2  # a cancel button for each issued one only
    assert "已取消" in page and "已发放" in page


def test_the_redemption_pages_keep_their_filters(app, admin_client):
    reward_id = make_reward(app, cost="1.0", stock=60)
    buyer = _customer(app, "buyer")
    for _ in range(52):
        _redeem(app, buyer, reward_id)
    page = _text(admin_client.get(f"/admin/redemptions?reward={reward_id}&status=issued"))
    assert f"/admin/redemptions?page=2&amp;reward={reward_id}&amp;status=issued" in page
    second = _text(admin_client.get(f"/admin/redemptions?page=2&reward={reward_id}&status=issued"))
    assert len(re.findall(r'id="redemption-\d+"', second)) == 2


def test_cancelling_gives_back_the_points_and_the_stock_once(app, admin_client):
    reward_id = make_reward(app, cost="30.0", stock=3)
    buyer = _customer(app, "buyer", "100.0")
    redemption = _redeem(app, buyer, reward_id)
    assert _balance(app, buyer) == Decimal("70.0") and _rewards(app)[0].stock_left == 2
    token = csrf_token(admin_client, "/admin/redemptions")
    back = f"/admin/redemptions?reward={reward_id}"
    response = admin_client.post(f"/admin/redemptions/{redemption.id}/cancel", data={"csrf_token": token, "back": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    assert _balance(app, buyer) == Decimal("100.0") and _rewards(app)[0].stock_left == 3
    with app.app_context():
        cancelled = db.session.get(Redemption, redemption.id)
        assert cancelled.status == "cancelled" and cancelled.cancelled_at and cancelled.cancelled_by
        refund = db.session.scalars(sa.select(LedgerEntry).where(
            LedgerEntry.reason == LedgerReason.REDEMPTION_CANCEL)).one()
        assert (refund.points, refund.redemption_id, refund.user_id) == (Decimal("30.0"), redemption.id, buyer)
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "redemption_cancel")).one()
        assert audit.staff_id == cancelled.cancelled_by and audit.details["redemption_id"] == redemption.id
    page = _text(admin_client.get(back))
    assert f"已取消兑换 #{redemption.id}" in page and "退还 30.0 积分" in page

    again = admin_client.post(f"/admin/redemptions/{redemption.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == "/admin/redemptions"
    assert "已取消，未重复退还" in _text(admin_client.get("/admin/redemptions"))
    assert _balance(app, buyer) == Decimal("100.0") and _rewards(app)[0].stock_left == 3
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry).where(
            LedgerEntry.reason == LedgerReason.REDEMPTION_CANCEL)) == 1


def test_a_cancel_without_its_csrf_token_is_refused(app, admin_client):
    redemption = _redeem(app, _customer(app, "buyer"), make_reward(app))
    response = admin_client.post(f"/admin/redemptions/{redemption.id}/cancel")
    assert response.status_code == 400 and "CSRF" in _text(response)
    with app.app_context():
        assert db.session.get(Redemption, redemption.id).status == "issued"


def test_a_cancel_goes_back_only_to_a_redemptions_page(app, admin_client):
    redemption = _redeem(app, _customer(app, "buyer"), make_reward(app))
    token = csrf_token(admin_client, "/admin/redemptions")
    response = admin_client.post(f"/admin/redemptions/{redemption.id}/cancel",
                                 data={"csrf_token": token, "back": "//evil.example/admin/redemptions"})
    assert response.headers["Location"] == "/admin/redemptions"


def test_cancelling_an_unknown_redemption_is_404(admin_client):
    token = csrf_token(admin_client, "/admin/redemptions")
    assert admin_client.post("/admin/redemptions/999/cancel", data={"csrf_token": token}).status_code == 404
