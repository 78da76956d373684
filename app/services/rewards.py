"""Rewards bought with points (积分兑换): the offer, redemption, cancellation, and the admin's edits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import IO

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.database import write_transaction
from app.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.models import Account, AuditEntry, LedgerReason, Redemption, RedemptionStatus, Reward, User
from app.services import clock, images, ledger
from app.services.records import decode_cursor, encode_cursor
from app.services.storage import LocalStorage, S3Storage, storage

# No 0/O, 1/I/L: a code read aloud at a shop counter or typed from a screenshot cannot be misread.
COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
COUPON_LENGTH = 16  # 31**16 ≈ 2**79: unguessable, and a collision is a once-in-never event
_COUPON_ATTEMPTS = 5
MAX_COST_POINTS = Decimal("1000000")
MAX_STOCK = 1_000_000
MAX_TITLE, MAX_DESCRIPTION = 100, 2000


class OutOfStock(Conflict):
    code, message = "out_of_stock", "该奖励已兑完"


class RewardUnavailable(DomainError):
    """Exists and is listed, but not redeemable at this moment: not yet started or already expired."""

    status, code, message = 422, "reward_unavailable", "该奖励不在兑换有效期内"


class AlreadyCancelled(Conflict):
    code, message = "already_cancelled", "该兑换已取消"


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    balance_points: Decimal


@dataclass(frozen=True)
class RewardDraft:
    """What an admin sets on a reward; `stock_total` is the new total, however many are redeemed."""

    title: str
    description: str
    cost_points: Decimal
    stock_total: int
    valid_from: datetime
    valid_until: datetime
    active: bool


def new_coupon_code() -> str:
    return "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH))


def normalise_coupon_code(text: str) -> str:
    """What a person typed (lower case, spaces, dashes between groups) as the stored code."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _on_offer(now: datetime):
    return (Reward.active.is_(True), Reward.valid_from <= now, Reward.valid_until > now)


# --- The mini program ---------------------------------------------------------------------------

def rewards_on_offer(*, limit: int, cursor: str | None) -> tuple[list[Reward], str | None]:
    """Active rewards within their validity, newest first; sold-out ones too (stock_left 0, "已兑完")."""
    query = select(Reward).where(*_on_offer(clock.now()))
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(Reward.id < before)
    rows = db.session.scalars(query.order_by(Reward.id.desc()).limit(limit + 1)).all()
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def redeem(user_id: int, reward_id: int) -> RedemptionResult:
    """Take one from stock, debit the points and issue a coupon, all in one transaction.

    Each step is its own guard in the database, so no interleaving of concurrent requests can
    oversell or overdraw: the conditional UPDATE takes stock only while some is left (and holds the
    row until commit), and the ledger's conditional UPDATE refuses a debit below zero, which rolls
    the stock back with everything else.
    """
    with write_transaction():
        now = clock.now()
        taken = db.session.execute(
            update(Reward).where(Reward.id == reward_id, Reward.stock_left > 0, *_on_offer(now))
            .values(stock_left=Reward.stock_left - 1).execution_options(synchronize_session=False)).rowcount
        # Read after the UPDATE: once it took stock the row is ours until commit, so the cost cannot change.
        reward = db.session.get(Reward, reward_id, populate_existing=True)
        if taken != 1:
            raise _why_not_redeemable(reward, now)
        redemption = _issue_coupon(user_id, reward)
        ledger.post_entry(user_id, -reward.cost_points, LedgerReason.REDEMPTION, redemption_id=redemption.id)
        balance = db.session.scalar(select(Account.balance_points).where(Account.user_id == user_id))
        return RedemptionResult(redemption, balance)


def _why_not_redeemable(reward: Reward | None, now: datetime) -> DomainError:
    if reward is None or not reward.active:
        return NotFound("该奖励不存在或已下架")
    if not reward.valid_from <= now < reward.valid_until:
        return RewardUnavailable(details={"valid_from": reward.valid_from.isoformat(),
                                          "valid_until": reward.valid_until.isoformat()})
    return OutOfStock()


def _issue_coupon(user_id: int, reward: Reward) -> Redemption:
    """A redemption with a fresh code; a collision with an existing code is retried in a savepoint,
    so it costs neither the transaction nor the stock already taken."""
    for _ in range(_COUPON_ATTEMPTS):
        redemption = Redemption(reward_id=reward.id, user_id=user_id, coupon_code=new_coupon_code(),
                                points=reward.cost_points, status=RedemptionStatus.ISSUED)
        try:
            with db.session.begin_nested():
                db.session.add(redemption)
        except IntegrityError:
            if not db.session.scalar(select(exists().where(Redemption.coupon_code == redemption.coupon_code))):
                raise  # something other than the code collided
            continue
        return redemption
    raise RuntimeError(f"no free coupon code in {_COUPON_ATTEMPTS} attempts")


def user_redemptions(user_id: int, *, status: str | None, limit: int,
                     cursor: str | None) -> tuple[list[Redemption], str | None]:
    """The user's own redemptions, newest first."""
    query = select(Redemption).where(Redemption.user_id == user_id).options(selectinload(Redemption.reward))
    if status is not None:
        _check_status(status)
        query = query.where(Redemption.status == status)
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(Redemption.id < before)
    rows = db.session.scalars(query.order_by(Redemption.id.desc()).limit(limit + 1)).all()
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def _check_status(status: str) -> None:
    allowed = (RedemptionStatus.ISSUED, RedemptionStatus.CANCELLED)
    if status not in allowed:
        raise ValidationFailed(details={"field": "status", "allowed": list(allowed)})


# --- Images: not personal, served to anyone ------------------------------------------------------

def _image_store() -> LocalStorage | S3Storage:
    # A folder of their own: `flask purge` sweeps the top-level key folders for files no photo owns.
    return storage("rewards")


def image_version(reward: Reward) -> str | None:
    """Changes whenever the image does, so clients may cache a URL that carries it."""
    return hashlib.sha256(reward.image_key.encode()).hexdigest()[:12] if reward.image_key else None


def open_image(reward_id: int) -> IO[bytes]:
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.image_key is None:
        raise NotFound()
    return _image_store().open(reward.image_key)


def _store_image(data: bytes) -> str:
    clean = images.clean_upload(data, current_app.config["MAX_PHOTO_BYTES"], current_app.config["MAX_PHOTO_PIXELS"])
    return _image_store().save(clean.data)


# --- The admin ------------------------------------------------------------------------------------

def _invalid(field: str, message: str, problem: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": field, "problem": problem})


def parse_cost(text: str | Decimal) -> Decimal:
    """Points as the admin typed them: a number > 0 with at most one decimal place."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise _invalid("cost_points", "所需积分须为数字", "not a number") from None
    if not value.is_finite() or value <= 0:
        raise _invalid("cost_points", "所需积分须大于 0", "must be > 0")
    if value > MAX_COST_POINTS:
        raise _invalid("cost_points", f"所需积分至多 {MAX_COST_POINTS}", "too large")
    if value != value.quantize(Decimal("0.1")):
        raise _invalid("cost_points", "所需积分至多一位小数", "one decimal place")
    return value.quantize(Decimal("0.1"))


def _check_draft(draft: RewardDraft) -> RewardDraft:
    title = draft.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise _invalid("title", f"名称须为 1–{MAX_TITLE} 个字符", "length")
    if len(draft.description) > MAX_DESCRIPTION:
        raise _invalid("description", f"说明至多 {MAX_DESCRIPTION} 个字符", "length")
    if not 0 <= draft.stock_total <= MAX_STOCK:
        raise _invalid("stock_total", f"库存总量须为 0–{MAX_STOCK}", "range")
    if draft.valid_until <= draft.valid_from:
        raise _invalid("valid_until", "截止时间须晚于开始时间", "not after valid_from")
    return RewardDraft(title, draft.description.strip(), parse_cost(draft.cost_points), draft.stock_total,
                       draft.valid_from, draft.valid_until, draft.active)


def _audit(staff_id: int | None, action: str, reward: Reward, **details) -> None:
    db.session.add(AuditEntry(staff_id=staff_id, action=action, details={
        "reward_id": reward.id, "title": reward.title, **{k: str(v) for k, v in details.items()}}))


def create_reward(draft: RewardDraft, image: bytes | None = None, *, staff_id: int | None = None) -> Reward:
    draft = _check_draft(draft)
    image_key = _store_image(image) if image else None  # file first: a row never points at nothing
    try:
        with write_transaction():
            reward = Reward(title=draft.title, description=draft.description, cost_points=draft.cost_points,
                            stock_total=draft.stock_total, stock_left=draft.stock_total,
                            valid_from=draft.valid_from, valid_until=draft.valid_until, active=draft.active,
                            image_key=image_key)
            db.session.add(reward)
            db.session.flush()
            _audit(staff_id, "reward_created", reward, cost_points=draft.cost_points, stock_total=draft.stock_total)
    except BaseException:
        if image_key:
            _image_store().delete(image_key)
        raise
    return reward


def update_reward(reward_id: int, draft: RewardDraft, image: bytes | None = None, *, remove_image: bool = False,
                  staff_id: int | None = None) -> Reward:
    """Edit a reward. A new stock total moves stock_left by the same difference, and may not fall below
    what is already redeemed: read under a row lock, so no redemption slips in between."""
    draft = _check_draft(draft)
    new_key = _store_image(image) if image else None
    try:
        with write_transaction():
            reward = db.session.get(Reward, reward_id, with_for_update=True, populate_existing=True)
            if reward is None:
                raise NotFound("该奖励不存在")
            redeemed = reward.stock_total - reward.stock_left
            if draft.stock_total < redeemed:
                raise ValidationFailed(f"已兑换 {redeemed} 件，库存总量不能少于 {redeemed}",
                                       details={"field": "stock_total", "problem": "below redeemed",
                                                "redeemed": redeemed})
            old_key = reward.image_key
            reward.title, reward.description = draft.title, draft.description
            reward.cost_points, reward.active = draft.cost_points, draft.active
            reward.valid_from, reward.valid_until = draft.valid_from, draft.valid_until
            reward.stock_total, reward.stock_left = draft.stock_total, draft.stock_total - redeemed
            if new_key or remove_image:
                reward.image_key = new_key
            _audit(staff_id, "reward_updated", reward, cost_points=draft.cost_points, stock_total=draft.stock_total,
                   active=draft.active)
    except BaseException:
        if new_key:
            _image_store().delete(new_key)
        raise
    if old_key and old_key != reward.image_key:
        _image_store().delete(old_key)  # after commit: a rollback keeps the old picture
    return reward


def reward_page(page: int, per_page: int = 50) -> Pagination:
    """All rewards for the admin, newest first."""
    return db.paginate(select(Reward).order_by(Reward.id.desc()), page=page, per_page=per_page,
                       max_per_page=200, error_out=False, count=True)


def all_rewards() -> list[tuple[int, str]]:
    """(id, title) of every reward, for the admin's filter."""
    return [tuple(row) for row in db.session.execute(select(Reward.id, Reward.title).order_by(Reward.id.desc()))]


def get_reward(reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise NotFound("该奖励不存在")
    return reward


def redemption_page(page: int, per_page: int = 50, *, reward_id: int | None = None, status: str | None = None,
                    coupon_code: str | None = None) -> Pagination:
    """Redemptions for the admin, newest first, filtered by reward, status and (exact) coupon code."""
    query = (select(Redemption).options(selectinload(Redemption.reward))
             .order_by(Redemption.id.desc()))
    if reward_id is not None:
        query = query.where(Redemption.reward_id == reward_id)
    if status:
        _check_status(status)
        query = query.where(Redemption.status == status)
    if coupon_code:
        query = query.where(Redemption.coupon_code == normalise_coupon_code(coupon_code))
    return db.paginate(query, page=page, per_page=per_page, max_per_page=200, error_out=False, count=True)


def nicknames(user_ids: set[int]) -> dict[int, str | None]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.nickname).where(User.id.in_(user_ids))).all())


def cancel_redemption(redemption_id: int, staff_id: int | None) -> Redemption:
    """Cancel an issued redemption: stock back, points back as their own ledger entry, audited; once.

    The conditional UPDATE ... WHERE status = 'issued' is the guard: of two admins clicking at the same
    moment, one changes the row and the other changes nothing and is told so. The unique
    (redemption_id, reason) in the ledger refuses a second refund even past that.
    """
    with write_transaction():
        redemption = db.session.get(Redemption, redemption_id)
        if redemption is None:
            raise NotFound("该兑换记录不存在")
        changed = db.session.execute(
            update(Redemption).where(Redemption.id == redemption_id, Redemption.status == RedemptionStatus.ISSUED)
            .values(status=RedemptionStatus.CANCELLED, cancelled_at=clock.now(), cancelled_by=staff_id)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise AlreadyCancelled(f"兑换 #{redemption_id} 已取消，未重复退还")
        db.session.refresh(redemption)
        db.session.execute(update(Reward).where(Reward.id == redemption.reward_id)
                           .values(stock_left=Reward.stock_left + 1).execution_options(synchronize_session=False))
        ledger.post_entry(redemption.user_id, redemption.points, LedgerReason.REDEMPTION_CANCEL,
                          redemption_id=redemption.id)
        db.session.add(AuditEntry(staff_id=staff_id, action="redemption_cancel", details={
            "redemption_id": redemption.id, "reward_id": redemption.reward_id, "user_id": redemption.user_id,
            "points": str(redemption.points), "coupon_code": redemption.coupon_code}))
    return redemption
