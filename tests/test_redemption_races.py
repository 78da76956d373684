"""Redemptions racing over real connections: never more coupons than stock, never a negative balance,
and a cancellation refunds once however many clicks arrive together."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import requests
import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import Account, LedgerEntry, LedgerReason, Redemption, RedemptionStatus, Reward
from app.services import rewards
from tests.api.test_rewards import give_points, make_reward
from tests.races import RACERS, live_login, race



def _live_user(base: str, app, name: str, points: str) -> tuple[dict[str, str], int]:
    headers = live_login(base, app, name)
    uid = requests.get(f"{base}/api/v1/me", headers=headers, timeout=10).json()["user"]["id"]
    give_points(app, uid, points)
    return headers, uid


def _redeem_live(base: str, headers: dict[str, str], reward_id: int) -> requests.Response:
    return requests.post(f"{base}/api/v1/rewards/{reward_id}/redemptions", headers=headers, timeout=60)


def _balances(app, user_ids) -> dict[int, Decimal]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Account.user_id, Account.balance_points)
                                       .where(Account.user_id.in_(user_ids))).all())


def _reward(app, reward_id) -> Reward:
    with app.app_context():
        reward = db.session.get(Reward, reward_id)
        db.session.expunge(reward)
        return reward


def test_twenty_users_racing_for_a_stock_of_five_get_exactly_five_coupons(live_server, app):
    users = [_live_user(live_server, app, f"racer{i}", "100.0") for i in range(RACERS)]
    reward_id = make_reward(app, cost="30.0", stock=5)
    responses = race(RACERS, lambda i: _redeem_live(live_server, users[i][0], reward_id))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 5, 409: RACERS - 5}), [r.text for r in responses if r.status_code != 409]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    winners = {users[i][1] for i, r in enumerate(responses) if r.status_code == 201}
    assert len({r.json()["coupon_code"] for r in responses if r.status_code == 201}) == 5
    assert all(r.json()["balance_points"] == 70.0 for r in responses if r.status_code == 201)
    balances = _balances(app, [uid for _, uid in users])
    assert balances == {uid: Decimal("70.0") if uid in winners else Decimal("100.0") for _, uid in users}
    reward = _reward(app, reward_id)
    assert (reward.stock_left, reward.stock_total) == (0, 5) and _issued(app, reward_id) == 5
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)) == 5
        debits = db.session.scalars(sa.select(LedgerEntry.user_id).where(
            LedgerEntry.reason == LedgerReason.REDEMPTION)).all()
    assert sorted(debits) == sorted(winners)


def test_one_user_racing_twenty_redemptions_with_points_for_three_gets_three(live_server, app):
    headers, uid = _live_user(live_server, app, "spender", "100.0")
    reward_id = make_reward(app, cost="30.0", stock=50)
    responses = race(RACERS, lambda _: _redeem_live(live_server, headers, reward_id))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 3, 409: RACERS - 3}), [r.text for r in responses if r.status_code != 409]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"insufficient_points"}
    # Each success saw the balance its own debit left: 70, 40 and 10 in some order, never below zero.
    assert sorted(r.json()["balance_points"] for r in responses if r.status_code == 201) == [10.0, 40.0, 70.0]
    assert _balances(app, [uid]) == {uid: Decimal("10.0")}
    assert _reward(app, reward_id).stock_left == 47  # the refused ones gave their stock back


def _issued(app, reward_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Redemption).where(
            Redemption.reward_id == reward_id, Redemption.status == RedemptionStatus.ISSUED))


def test_an_admin_cutting_the_stock_during_a_rush_never_lets_it_oversell(live_server, app):
    users = [_live_user(live_server, app, f"rusher{i}", "100.0") for i in range(RACERS - 1)]
    reward_id = make_reward(app, cost="10.0", stock=10)
    draft = rewards.RewardDraft(title="限量", description="", cost_points=Decimal("10.0"), stock_total=4,
                                valid_from=_reward(app, reward_id).valid_from,
                                valid_until=_reward(app, reward_id).valid_until, active=True)

    def act(i):
        if i < len(users):
            return _redeem_live(live_server, users[i][0], reward_id).status_code
        with app.app_context():
            try:
                rewards.update_reward(reward_id, draft)
                return "cut"
            except DomainError as exc:
                return exc.code
            finally:
                db.session.remove()

    outcomes = Counter(race(RACERS, act))
    reward = _reward(app, reward_id)
    # Whichever came first, the books agree: total = left + issued, and nothing was sold beyond the total.
    assert reward.stock_total - reward.stock_left == _issued(app, reward_id) == outcomes[201], outcomes
    assert reward.stock_left >= 0 and outcomes[201] <= 10
    assert outcomes["cut"] == 1 and reward.stock_total == 4 or outcomes["validation_error"] == 1, outcomes


def test_twenty_simultaneous_cancels_refund_once(app):
    reward_id = make_reward(app, cost="30.0", stock=1)
    with app.app_context():
        from app.services import users
        uid = users.login("dev:refunded", app.config["PRIVACY_POLICY_VERSION"]).user.id
    give_points(app, uid, "30.0")
    with app.app_context():
        redemption_id = rewards.redeem(uid, reward_id).redemption.id

    def cancel(_):
        with app.app_context():
            try:
                rewards.cancel_redemption(redemption_id, staff_id=None)
                return "cancelled"
            except DomainError as exc:
                return exc.code
            finally:
                db.session.remove()

    outcomes = Counter(race(RACERS, cancel))
    assert outcomes == Counter({"cancelled": 1, "already_cancelled": RACERS - 1}), outcomes
    assert _balances(app, [uid]) == {uid: Decimal("30.0")}
    assert _reward(app, reward_id).stock_left == 1
    with app.app_context():
        assert db.session.get(Redemption, redemption_id).status == RedemptionStatus.CANCELLED
        refunds = db.session.scalars(sa.select(LedgerEntry.points).where(
            LedgerEntry.reason == LedgerReason.REDEMPTION_CANCEL)).all()
    assert refunds == [Decimal("30.0")]
