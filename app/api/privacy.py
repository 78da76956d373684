"""The user's privacy rights (PIPL): export everything held about them, and delete the account."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import g

from app.api import bp
from app.api.auth import login_required
from app.api.schemas import Explanation, Grams, Number, Points, Response
from app.services import privacy


class ExportUser(Response):
    id: int
    wechat_openid: str | None
    wechat_unionid: str | None
    nickname: str | None
    avatar_url: str | None
    city: str | None
    created_at: datetime


class ExportConsentEntry(Response):
    version: str
    consented_at: datetime


class ExportConsent(Response):
    privacy_version: str
    consented_at: datetime
    history: list[ExportConsentEntry]


class ExportAccount(Response):
    balance_points: Points
    earned_points_total: Points
    spent_points_total: Points
    co2_g_total: Grams


class ExportFactor(Response):
    id: int
    kind: str
    subtype: str | None
    version: int
    grams_per_unit: Number
    unit: str
    source: str


class ExportTrip(Response):
    mode: str
    distance_km: Number
    started_at: datetime
    ended_at: datetime
    point_count: int
    track: list[dict[str, Any]] | None = None  # the GPS points as sent; null once past TRACK_RETENTION_DAYS


class ExportRecord(Response):
    id: int
    kind: str
    subtype: str | None
    status: str
    quantity: Number
    unit: str
    co2_g: Grams
    points: Points
    day: date
    data: dict[str, Any] | None
    reject_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    factor: ExportFactor
    photo_id: int | None
    trip: ExportTrip | None = None
    explanation: Explanation


class ExportPhoto(Response):
    id: int
    record_id: int
    content_type: str
    width: int
    height: int
    byte_size: int
    created_at: datetime
    erased_at: datetime | None
    image_url: str | None  # null once the file is erased (retention or deletion)
    suspected_duplicate: bool


class ExportLedgerEntry(Response):
    id: int
    points: Points
    reason: str
    record_id: int | None
    redemption_id: int | None
    signup_id: int | None
    created_at: datetime


class ExportRedemption(Response):
    id: int
    reward_id: int
    reward_title: str
    coupon_code: str
    points: Points
    status: str
    created_at: datetime
    cancelled_at: datetime | None


class ExportFriend(Response):
    user_id: int
    nickname: str | None
    since: datetime


class ExportInvite(Response):
    code: str
    created_at: datetime
    expires_at: datetime


class ExportPeriodPoints(Response):
    period: str
    period_start: date
    points: Points


class ExportSignup(Response):
    id: int
    activity_id: int
    activity_title: str
    starts_at: datetime
    created_at: datetime
    cancelled_at: datetime | None
    checked_in_at: datetime | None


class ExportPartnerBinding(Response):
    id: str
    partner: str
    created_at: datetime
    revoked_at: datetime | None


class ExportTripRefusal(Response):
    id: int
    mode: str
    reason: str
    distance_km: Number | None
    started_at: datetime | None
    ended_at: datetime | None
    point_count: int
    created_at: datetime
    track: list[dict[str, Any]] | None  # null once past TRACK_RETENTION_DAYS


class ExportAppeal(Response):
    id: int
    record_id: int | None
    trip_refusal_id: int | None
    text: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    outcome_reason: str | None


class ExportSession(Response):
    id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ExportIdempotencyKey(Response):
    key: str
    claimed_at: datetime
    expires_at: datetime
    response_status: int | None


class ExportOut(Response):
    """Everything the server holds about the user (see GET /me/export)."""

    generated_at: datetime
    user: ExportUser
    consent: ExportConsent
    account: ExportAccount
    records: list[ExportRecord]
    photos: list[ExportPhoto]
    ledger: list[ExportLedgerEntry]
    redemptions: list[ExportRedemption]
    friends: list[ExportFriend]
    friend_invites: list[ExportInvite]
    leaderboard_points: list[ExportPeriodPoints]
    activity_signups: list[ExportSignup]
    partner_bindings: list[ExportPartnerBinding]
    trip_refusals: list[ExportTripRefusal]
    appeals: list[ExportAppeal]
    sessions: list[ExportSession]
    idempotency_keys: list[ExportIdempotencyKey]


@bp.get("/me/export", responses={200: ExportOut})
@login_required
def export_me():
    """Everything the server holds about the user (PIPL right of access)

    Profile, WeChat ids, consent, every record with its factor and (while kept) GPS track, photos
    (metadata; image URL null once erased), ledger, redemptions with coupon codes, friends, invite
    codes, activity sign-ups, leaderboard rows, sessions (times only, never a token) and stored
    idempotency keys. Never a secret (tokens, WeChat session_key). Photo fingerprints (hashes, not
    images) are not listed; they are kept even after deletion (see DELETE /me).
    """
    body = privacy.export_user_data(g.current_user.id)
    filename = f"carbon-account-{g.current_user.id}.json"
    return body, 200, {"Cache-Control": "private, no-store",
                       "Content-Disposition": f'attachment; filename="{filename}"'}


@bp.delete("/me", responses={204: None})
@login_required
def delete_me():
    """Delete the account (PIPL right of erasure)

    204, and the token stops working at once. Erased: profile, WeChat ids, consents, sessions, photo
    files, GPS tracks (refused trips' too), appeal texts (pending appeals withdrawn), friendships and
    invite codes, leaderboard rows, open activity sign-ups (spots given back), stored idempotent answers;
    pending photo records leave the review queue (rejected, reason 用户已注销账户). Kept, linked to
    nobody: records and ledger entries (public totals do not change), redemptions with coupon codes
    (the operator's accounts), attendance that earned points, and the photos' fingerprints (SHA-256 and
    perceptual hashes; not an image), which stop anyone reusing the photos for points. Logging in again
    with the same WeChat account starts a new, empty account.
    """
    privacy.delete_account(g.current_user.id)
    return "", 204
