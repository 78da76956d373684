"""Rewards on offer, redeeming one for a coupon, the user's own redemptions, and reward images.

Decisions the contract leaves open (also in the OpenAPI document):
- "On offer" is active and within [valid_from, valid_until); a sold-out reward stays listed with
  stock_left 0 so the mini program can show "已兑完" rather than have it vanish.
- Redeeming an unknown or withdrawn (inactive) reward is 404 not_found; one that is listed but not
  yet started or already expired is 422 reward_unavailable (like an expired invite code), with
  valid_from/valid_until in details. Out of stock is checked before the balance.
- A redemption's `points` is what it cost, positive; the ledger shows the same debit signed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import g, send_file
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import BlankIsDefault, Id, PageQuery, Points, Response
from app.errors import NotFound
from app.models import Redemption, RedemptionStatus, Reward
from app.services import rewards
from app.services.ledger import InsufficientPoints
from app.services.rewards import OutOfStock, RewardUnavailable

REDEMPTION_STATUSES = (RedemptionStatus.ISSUED, RedemptionStatus.CANCELLED)


class RewardPath(BaseModel):
    reward_id: Id


class RedemptionQuery(PageQuery):
    status: Annotated[Literal[*REDEMPTION_STATUSES] | None, BlankIsDefault] = None


class RewardOut(Response):
    id: int
    title: str
    description: str
    cost_points: Points
    stock_left: int = Field(description="0: sold out (still listed, so the mini program can say 已兑完)")
    stock_total: int
    valid_from: datetime
    valid_until: datetime
    image_url: str | None = Field(description="relative URL, public, changes with the picture")


class RewardPage(Response):
    items: list[RewardOut]
    next_cursor: str | None


class RedemptionOut(Response):
    id: int
    reward_id: int
    reward_title: str
    coupon_code: str = Field(pattern="^[2-9A-HJKMNP-Z]{16}$")
    points: Points = Field(description="what it cost, positive (the ledger shows the debit signed)")
    status: Literal[*REDEMPTION_STATUSES]
    created_at: datetime
    cancelled_at: datetime | None


class RedemptionIssued(RedemptionOut):
    balance_points: Points = Field(description="the user's balance after paying")


class RedemptionPage(Response):
    items: list[RedemptionOut]
    next_cursor: str | None


def reward_json(reward: Reward) -> dict:
    version = rewards.image_version(reward)
    return {"id": reward.id, "title": reward.title, "description": reward.description,
            "cost_points": reward.cost_points, "stock_left": reward.stock_left, "stock_total": reward.stock_total,
            "valid_from": reward.valid_from.isoformat(), "valid_until": reward.valid_until.isoformat(),
            "image_url": f"/api/v1/rewards/{reward.id}/image?v={version}" if version else None}


def redemption_json(redemption: Redemption) -> dict:
    return {"id": redemption.id, "reward_id": redemption.reward_id, "reward_title": redemption.reward.title,
            "coupon_code": redemption.coupon_code, "points": redemption.points, "status": redemption.status,
            "created_at": redemption.created_at.isoformat(),
            "cancelled_at": redemption.cancelled_at.isoformat() if redemption.cancelled_at else None}


@bp.get("/rewards", responses={200: RewardPage})
@login_required
def list_rewards(query: PageQuery):
    """Rewards on offer: active and within their validity, newest first (sold-out ones with stock_left 0)"""
    rows, next_cursor = rewards.rewards_on_offer(limit=query.limit, cursor=query.cursor)
    return {"items": [reward_json(r) for r in rows], "next_cursor": next_cursor}


@bp.post("/rewards/<int:reward_id>/redemptions", responses={201: RedemptionIssued})
@refuses(NotFound, OutOfStock, InsufficientPoints, RewardUnavailable)
@login_required
@idempotent
def redeem_reward(path: RewardPath):
    """Redeem a reward: stock, points and a unique coupon code in one transaction (never a negative balance)"""
    result = rewards.redeem(g.current_user.id, path.reward_id)
    return {**redemption_json(result.redemption), "balance_points": result.balance_points}, 201


@bp.get("/redemptions", responses={200: RedemptionPage})
@login_required
def list_redemptions(query: RedemptionQuery):
    """The user's own redemptions, newest first"""
    rows, next_cursor = rewards.user_redemptions(g.current_user.id, status=query.status, limit=query.limit,
                                                 cursor=query.cursor)
    return {"items": [redemption_json(r) for r in rows], "next_cursor": next_cursor}


@bp.get("/rewards/<int:reward_id>/image",
        responses={200: {"description": "the picture, no metadata", "content": {"image/jpeg": {}}}})
@refuses(NotFound)
def reward_image(path: RewardPath):
    """A reward's picture, JPEG (public: it is not personal, and <image> tags send no bearer token)"""
    response = send_file(rewards.open_image(path.reward_id), mimetype="image/jpeg", max_age=0)
    # image_url carries ?v=<version>, so a changed picture gets a new URL and the old one may be cached.
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
