"""The user's rights under PIPL (个人信息保护法): a copy of everything held about them, erasure of the
account, and the retention limit for photo evidence once it has served its purpose.

What deletion keeps, and why:
- the user row, emptied (no WeChat ids, no profile) and marked deleted, so that the records, ledger
  entries and redemptions that point at it stay consistent: the public totals (GET /stats) and the
  operator's accounts do not change, and nothing left is linked to a person any more;
- records (kind, amounts, factor, day) and their ledger entries; trips keep their summary only;
- redemptions with their coupon codes (the operator settles them with its partners);
- the fingerprints of the user's photos (SHA-256, 64-bit perceptual hashes, the keypoint signature).
  They are not an image and no image can be rebuilt from them; they keep a deleted user's photo from
  being uploaded again for points by someone else. The photo files themselves are erased.
Everything else that is personal goes: profile, WeChat openid/unionid/session_key, consents, tokens,
raw GPS tracks and their shapes (refused trips' too), appeal texts (pending appeals withdrawn), photo files,
friendships and invite codes, leaderboard rows, activity sign-ups (except attendance that earned points,
kept anonymised for the ledger), stored idempotent answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Account, Activity, ActivitySignup, AuditEntry, AuthToken, Consent, FriendInvite, Friendship, IdempotencyKey,
    LedgerEntry, PeriodPoints, Photo, Record, RecordStatus, Redemption, Reward, Trip, User,
)
from app.services import appeals, clock, explanations, friends, leaderboard, partners
from app.services.storage import storage

log = logging.getLogger(__name__)

WITHDRAWN_REASON = "用户已注销账户"  # the reject_reason of a pending record whose owner deleted the account
ERASE_BATCH = 500


def image_url(photo: Photo) -> str | None:
    return f"/api/v1/photos/{photo.id}/image" if photo.storage_key else None


# -- access: GET /me/export ----------------------------------------------------------------------------------

def export_user_data(user_id: int) -> dict:
    """Everything the server holds about one user, as one JSON document (PIPL art. 45, the right of access).

    Secrets are never included: not the bearer tokens (only their times), not WeChat's session_key.
    The photos' fingerprints (hashes) are described but not listed: they are derived from the image
    the user already has, and are kept after deletion (see the module docstring). Stored idempotent
    answers are listed by key and status; their bodies are copies of the records and redemptions below.
    """
    user = db.session.get(User, user_id)
    account = db.session.get(Account, user_id)
    return {
        "generated_at": clock.now(),
        "user": {"id": user.id, "wechat_openid": user.openid, "wechat_unionid": user.unionid,
                 "nickname": user.nickname, "avatar_url": user.avatar_url, "city": user.city,
                 "created_at": user.created_at},
        "consent": {"privacy_version": user.privacy_version, "consented_at": user.consented_at,
                    "history": [{"version": c.version, "consented_at": c.consented_at}
                                for c in _rows(Consent, Consent.user_id == user_id)]},
        "account": {"balance_points": account.balance_points, "earned_points_total": account.earned_points_total,
                    "spent_points_total": account.spent_points_total, "co2_g_total": account.co2_g_total},
        "records": _records(user_id),
        "photos": [_photo(p) for p in _rows(Photo, Photo.user_id == user_id)],
        "ledger": [{"id": e.id, "points": e.points, "reason": e.reason, "record_id": e.record_id,
                    "redemption_id": e.redemption_id, "signup_id": e.signup_id, "created_at": e.created_at}
                   for e in _rows(LedgerEntry, LedgerEntry.user_id == user_id)],
        "redemptions": [_redemption(r, title) for r, title in db.session.execute(
            select(Redemption, Reward.title).join(Reward, Reward.id == Redemption.reward_id)
            .where(Redemption.user_id == user_id).order_by(Redemption.id))],
        "friends": [{"user_id": friend.id, "nickname": friend.nickname, "since": since}
                    for friend, since in db.session.execute(
                        select(User, Friendship.created_at).join(Friendship, Friendship.friend_id == User.id)
                        .where(Friendship.user_id == user_id).order_by(User.id))],
        "friend_invites": [{"code": i.code, "created_at": i.created_at, "expires_at": i.expires_at}
                           for i in _rows(FriendInvite, FriendInvite.inviter_id == user_id)],
        "leaderboard_points": [{"period": p.period, "period_start": p.period_start, "points": p.points}
                               for p in db.session.scalars(select(PeriodPoints).where(PeriodPoints.user_id == user_id)
                                                           .order_by(PeriodPoints.period, PeriodPoints.period_start))],
        "activity_signups": [_signup(s, a) for s, a in db.session.execute(
            select(ActivitySignup, Activity).join(Activity, Activity.id == ActivitySignup.activity_id)
            .where(ActivitySignup.user_id == user_id).order_by(ActivitySignup.id))],
        "partner_bindings": partners.export_bindings(user_id),
        **appeals.export_for(user_id),  # trip_refusals, appeals
        "sessions": [{"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at}
                     for t in _rows(AuthToken, AuthToken.user_id == user_id)],
        "idempotency_keys": [{"key": k.key, "claimed_at": k.claimed_at, "expires_at": k.expires_at,
                              "response_status": k.response_status}
                             for k in _rows(IdempotencyKey, IdempotencyKey.user_id == user_id)],
    }


def _rows(model, condition) -> Iterable:
    return db.session.scalars(select(model).where(condition).order_by(model.id))


def _records(user_id: int) -> list[dict]:
    records = db.session.scalars(
        select(Record).where(Record.user_id == user_id).order_by(Record.id)
        .options(selectinload(Record.factor), selectinload(Record.photo), selectinload(Record.trip))).all()
    return [{**_record(r), "explanation": e} for r, e in zip(records, explanations.explain_all(records), strict=True)]


def _record(record: Record) -> dict:
    factor = record.factor
    body = {"id": record.id, "kind": record.kind, "subtype": record.subtype, "status": record.status,
            "quantity": record.quantity, "unit": record.unit, "co2_g": record.co2_g, "points": record.points,
            "day": record.day, "data": record.data, "reject_reason": record.reject_reason,
            "created_at": record.created_at, "decided_at": record.decided_at,
            "factor": {"id": factor.id, "kind": factor.kind, "subtype": factor.subtype or None,
                       "version": factor.version, "grams_per_unit": factor.grams_per_unit, "unit": factor.unit,
                       "source": factor.source},
            "photo_id": record.photo.id if record.photo is not None else None}
    if record.trip is not None:
        trip = record.trip
        body["trip"] = {"mode": trip.mode, "distance_km": trip.distance_km, "started_at": trip.started_at,
                        "ended_at": trip.ended_at, "point_count": trip.point_count,
                        # null once TRACK_RETENTION_DAYS have passed: only the summary above is kept then
                        "track": trip.track}
    return body


def _photo(photo: Photo) -> dict:
    return {"id": photo.id, "record_id": photo.record_id, "content_type": photo.content_type,
            "width": photo.width, "height": photo.height, "byte_size": photo.byte_size,
            "created_at": photo.created_at, "erased_at": photo.erased_at, "image_url": image_url(photo),
            "suspected_duplicate": photo.suspected_original_id is not None}


def _redemption(redemption: Redemption, reward_title: str) -> dict:
    return {"id": redemption.id, "reward_id": redemption.reward_id, "reward_title": reward_title,
            "coupon_code": redemption.coupon_code, "points": redemption.points, "status": redemption.status,
            "created_at": redemption.created_at, "cancelled_at": redemption.cancelled_at}


def _signup(signup: ActivitySignup, activity: Activity) -> dict:
    return {"id": signup.id, "activity_id": activity.id, "activity_title": activity.title,
            "starts_at": activity.starts_at, "created_at": signup.created_at,
            "cancelled_at": signup.cancelled_at, "checked_in_at": signup.checked_in_at}


# -- erasure: DELETE /me --------------------------------------------------------------------------------------

def delete_account(user_id: int) -> None:
    """Erase the user's personal data in one transaction (PIPL art. 47); see the module docstring for
    what is kept, anonymised, and why. The photo files go after the commit: a crash in between leaves
    files no row owns, which `flask purge` sweeps (photos.sweep_orphans).

    Rows are locked in the order the other writers lock them (activity, sign-up, record, account), so
    a deletion racing a check-in, a moderator's decision or a trip waits instead of deadlocking.
    """
    now = clock.now()
    with write_transaction():
        _release_signups(user_id)
        # Pending evidence leaves the review queue: nobody is left to credit.
        withdrawn = db.session.execute(
            update(Record).where(Record.user_id == user_id, Record.status == RecordStatus.PENDING)
            .values(status=RecordStatus.REJECTED, reject_reason=WITHDRAWN_REASON, decided_at=now, dedup_key=None)
            .execution_options(synchronize_session=False)).rowcount
        # Serialises with the user's own trips and redemptions, which lock this row first.
        db.session.execute(select(Account.user_id).where(Account.user_id == user_id).with_for_update())
        keys = _detach_photo_files(Photo.user_id == user_id, now)
        db.session.execute(update(Trip).where(Trip.user_id == user_id)
                           .values(track=None, shape=None, start_cell="", end_cell="")
                           .execution_options(synchronize_session=False))
        friends.forget_user(user_id)
        leaderboard.forget_user(user_id)
        partners.forget_user(user_id)
        appeals.forget_user(user_id, now)
        for model in (IdempotencyKey, AuthToken, Consent):
            db.session.execute(delete(model).where(model.user_id == user_id)
                               .execution_options(synchronize_session=False))
        db.session.execute(
            update(User).where(User.id == user_id)
            .values(openid=None, unionid=None, session_key=None, nickname=None, avatar_url=None, city=None,
                    deleted_at=now).execution_options(synchronize_session=False))
        # The operator's proof that the request was carried out (no personal data in it).
        db.session.add(AuditEntry(staff_id=None, action="account_deleted",
                                  details={"user_id": user_id, "records_withdrawn": withdrawn,
                                           "photo_files_erased": len(keys)}))
    _delete_files(keys)


def _release_signups(user_id: int) -> None:
    """Give back the spots of open sign-ups and drop the sign-ups; an attendance that earned points
    stays (its ledger entry points at it), anonymised with the user row."""
    open_signups = ActivitySignup.user_id == user_id, ActivitySignup.cancelled_at.is_(None), \
        ActivitySignup.checked_in_at.is_(None)
    activity_ids = db.session.scalars(select(ActivitySignup.activity_id).where(*open_signups)
                                      .order_by(ActivitySignup.activity_id)).all()
    if activity_ids:
        db.session.execute(select(Activity.id).where(Activity.id.in_(activity_ids))
                           .order_by(Activity.id).with_for_update())
        db.session.execute(update(Activity).where(Activity.id.in_(activity_ids), Activity.signed_up > 0)
                           .values(signed_up=Activity.signed_up - 1).execution_options(synchronize_session=False))
    credited = select(LedgerEntry.signup_id).where(LedgerEntry.user_id == user_id, LedgerEntry.signup_id.is_not(None))
    db.session.execute(delete(ActivitySignup).where(ActivitySignup.user_id == user_id,
                                                    ActivitySignup.id.not_in(credited))
                       .execution_options(synchronize_session=False))


# -- retention: `flask purge` ---------------------------------------------------------------------------------

def erase_expired_photos(now: datetime | None = None) -> int:
    """Erase the files of photos whose record was decided (credited or rejected) more than
    PHOTO_RETENTION_DAYS ago (0: kept for ever), and any file a deleted account still holds (an upload
    that raced the deletion). The record, its points and the photo's fingerprints stay; the owner's
    image URL answers 404 from then on, as for any photo that is not there. Returns files erased."""
    now = now or clock.now()
    days = current_app.config["PHOTO_RETENTION_DAYS"]
    owner_deleted = Photo.user_id.in_(select(User.id).where(User.deleted_at.is_not(None)))
    if days > 0:
        decided_long_ago = Photo.record_id.in_(
            select(Record.id).where(Record.status.in_((RecordStatus.CREDITED, RecordStatus.REJECTED)),
                                    Record.decided_at < now - timedelta(days=days)))
        expired = or_(decided_long_ago, owner_deleted)
    else:
        expired = owner_deleted
    erased = 0
    while True:
        with write_transaction():
            ids = db.session.scalars(select(Photo.id).where(Photo.storage_key.is_not(None), expired)
                                     .order_by(Photo.id).limit(ERASE_BATCH)).all()
            keys = _detach_photo_files(Photo.id.in_(ids), now) if ids else []
        _delete_files(keys)
        erased += len(keys)
        if len(ids) < ERASE_BATCH:
            return erased


def _detach_photo_files(condition, now: datetime) -> list[str]:
    """Unlink the matching photos from their files (in the caller's transaction); the keys to delete."""
    keys = db.session.scalars(select(Photo.storage_key).where(condition, Photo.storage_key.is_not(None))).all()
    db.session.execute(update(Photo).where(condition, Photo.storage_key.is_not(None))
                       .values(storage_key=None, erased_at=now).execution_options(synchronize_session=False))
    return list(keys)


def _delete_files(keys: list[str]) -> None:
    store = storage()
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # the row no longer owns the file: sweep_orphans deletes it on the next purge
            log.exception("photo file %s not deleted; left for the orphan sweep", key)

