"""Rewards on offer, redeeming one for a coupon, the user's own redemptions, and reward images.

Decisions the contract leaves open (also in OPENAPI_PATHS below):
- "On offer" is active and within [valid_from, valid_until); a sold-out reward stays listed with
  stock_left 0 so the mini program can show "已兑完" rather than have it vanish.
- Redeeming an unknown or withdrawn (inactive) reward is 404 not_found; one that is listed but not
  yet started or already expired is 422 reward_unavailable (like an expired invite code), with
  valid_from/valid_until in details. Out of stock is checked before the balance.
- A redemption's `points` is what it cost, positive; the ledger shows the same debit signed.
"""

from __future__ import annotations

from flask import g, request, send_file

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.models import Redemption, Reward
from app.services import records, rewards


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


@bp.get("/rewards")
@login_required
def list_rewards():
    rows, next_cursor = rewards.rewards_on_offer(limit=records.page_limit(request.args.get("limit")),
                                                 cursor=request.args.get("cursor"))
    return {"items": [reward_json(r) for r in rows], "next_cursor": next_cursor}


@bp.post("/rewards/<int:reward_id>/redemptions")
@login_required
@idempotent
def redeem_reward(reward_id: int):
    result = rewards.redeem(g.current_user.id, reward_id)
    return {**redemption_json(result.redemption), "balance_points": result.balance_points}, 201


@bp.get("/redemptions")
@login_required
def list_redemptions():
    rows, next_cursor = rewards.user_redemptions(
        g.current_user.id, status=request.args.get("status") or None,
        limit=records.page_limit(request.args.get("limit")), cursor=request.args.get("cursor"))
    return {"items": [redemption_json(r) for r in rows], "next_cursor": next_cursor}


@bp.get("/rewards/<int:reward_id>/image")
def reward_image(reward_id: int):
    """Public (no login): a reward's picture is not personal, and <image> tags send no bearer token."""
    response = send_file(rewards.open_image(reward_id), mimetype="image/jpeg", max_age=0)
    # image_url carries ?v=<version>, so a changed picture gets a new URL and the old one may be cached.
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


_ERROR = {"$ref": "#/components/schemas/Error"}
_LIST_PARAMS = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}}]
_REWARD = {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
    "cost_points": {"type": "number", "multipleOf": 0.1}, "stock_left": {"type": "integer"},
    "stock_total": {"type": "integer"}, "valid_from": {"type": "string", "format": "date-time"},
    "valid_until": {"type": "string", "format": "date-time"},
    "image_url": {"type": ["string", "null"], "description": "relative URL, public, changes with the picture"}}}
_REDEMPTION = {"type": "object", "properties": {
    "id": {"type": "integer"}, "reward_id": {"type": "integer"}, "reward_title": {"type": "string"},
    "coupon_code": {"type": "string", "pattern": "^[2-9A-HJKMNP-Z]{16}$"},
    "points": {"type": "number", "multipleOf": 0.1, "description": "what it cost, positive"},
    "status": {"type": "string", "enum": ["issued", "cancelled"]},
    "created_at": {"type": "string", "format": "date-time"},
    "cancelled_at": {"type": ["string", "null"], "format": "date-time"}}}

# This module's part of GET /api/v1/openapi.json (merged by whoever builds the document).
OPENAPI_PATHS = {
    "/rewards": {"get": {
        "summary": "Rewards on offer: active and within their validity, newest first (sold-out ones with stock_left 0)",
        "security": [{"bearer": []}], "parameters": _LIST_PARAMS,
        "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": _REWARD},
                                             "next_cursor": {"type": ["string", "null"]}}}}}},
                      "401": {"description": "unauthorized", "content": {"application/json": {"schema": _ERROR}}},
                      "422": {"description": "validation_error (limit, cursor)"}}}},
    "/rewards/{id}/redemptions": {"post": {
        "summary": "Redeem one: stock, points and a unique coupon code in one transaction",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 64}}],
        "responses": {
            "201": {"description": "issued", "content": {"application/json": {"schema": {"allOf": [_REDEMPTION, {
                "type": "object", "properties": {"balance_points": {"type": "number", "multipleOf": 0.1}}}]}}}},
            "401": {"description": "unauthorized"},
            "404": {"description": "not_found: unknown or withdrawn (inactive) reward"},
            "409": {"description": "out_of_stock | insufficient_points | idempotency_in_progress"},
            "422": {"description": "reward_unavailable: not yet started or expired (details: valid_from, "
                                   "valid_until) | idempotency_conflict | validation_error"}}}},
    "/redemptions": {"get": {
        "summary": "The user's own redemptions, newest first",
        "security": [{"bearer": []}],
        "parameters": [*_LIST_PARAMS, {"name": "status", "in": "query",
                                       "schema": {"type": "string", "enum": ["issued", "cancelled"]}}],
        "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": _REDEMPTION},
                                             "next_cursor": {"type": ["string", "null"]}}}}}},
                      "401": {"description": "unauthorized"},
                      "422": {"description": "validation_error (status, limit, cursor)"}}}},
    "/rewards/{id}/image": {"get": {
        "summary": "A reward's picture (JPEG, no metadata); public, no login",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "the image", "content": {"image/jpeg": {}}},
                      "404": {"description": "not_found: no such reward or it has no picture"}}}},
}
