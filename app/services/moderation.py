"""Moderators' review of photo evidence: the queue, one record in context, and the decision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.database import write_transaction
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, LedgerReason, Photo, Record, RecordStatus, User
from app.models.types import utcnow
from app.services import accounting, ledger, notifications
from app.services.photos import nearest_photos, parse_weight
from app.services.storage import storage

log = logging.getLogger(__name__)
DECISIONS = ("approve", "reject")


class AlreadyDecided(Conflict):
    code, message = "already_decided", "该记录已被审核"


@dataclass(frozen=True)
class ReviewQueue:
    items: list[Record]
    pending: int
    suspected: int


@dataclass(frozen=True)
class SimilarPhoto:
    photo: Photo
    record: Record
    distance: int


@dataclass(frozen=True)
class ReviewDetail:
    record: Record
    photo: Photo
    user: User
    recent: list[Record]
    similar: list[SimilarPhoto]


def _with_photo():
    return select(Record).join(Photo, Photo.record_id == Record.id).options(
        selectinload(Record.photo), selectinload(Record.factor))


def review_queue(limit: int = 50, after_id: int | None = None) -> ReviewQueue:
    """Pending photo records, oldest first (a page starts after `after_id`, the last one already
    shown), with the counts the navigation shows."""
    query = _with_photo().where(Record.status == RecordStatus.PENDING)
    if after_id is not None:
        query = query.where(Record.id > after_id)
    items = db.session.scalars(query.options(selectinload(Record.user)).order_by(Record.id).limit(limit)).all()
    pending, suspected = db.session.execute(
        select(func.count(Record.id), func.count(Photo.suspected_original_id))
        .join(Photo, Photo.record_id == Record.id).where(Record.status == RecordStatus.PENDING)).one()
    return ReviewQueue(items=list(items), pending=pending, suspected=suspected)


def review_detail(record_id: int) -> ReviewDetail:
    record = db.session.scalar(_with_photo().where(Record.id == record_id))
    if record is None:
        raise NotFound()
    photo = record.photo
    user = record.user
    recent = db.session.scalars(
        select(Record).where(Record.user_id == record.user_id, Record.id != record.id)
        .order_by(Record.id.desc()).limit(10)).all()
    return ReviewDetail(record=record, photo=photo, user=user, recent=list(recent),
                        similar=_similar_earlier(photo))


def _similar_earlier(photo: Photo, limit: int = 6) -> list[SimilarPhoto]:
    """The nearest photos uploaded before this one, by perceptual distance (the moderator's evidence);
    the suspected original comes first even when its pHash alone is not among the nearest."""
    query_hashes = [h.hash + (1 << 64) if h.hash < 0 else h.hash for h in photo.hashes]
    nearest = [(c.photo_id, c.distance) for c in nearest_photos(query_hashes, limit=limit, before_id=photo.id)]
    if photo.suspected_original_id and photo.suspected_original_id not in dict(nearest):
        nearest.insert(0, (photo.suspected_original_id, photo.suspected_distance))
    photos = {p.id: p for p in db.session.scalars(
        select(Photo).options(selectinload(Photo.record)).where(Photo.id.in_([i for i, _ in nearest])))}
    return [SimilarPhoto(photos[i], photos[i].record, distance) for i, distance in nearest[:limit]]


def decide(record_id: int, staff_id: int, decision: str, reason: str | None,
           weight_kg: Decimal | str | None) -> Record:
    """Approve (credit the points) or reject (with a reason), exactly once, in one transaction.

    The conditional UPDATE ... WHERE status = 'pending' is the guard: when two moderators click at the
    same moment, one update changes the row and the other changes nothing and is told so.
    """
    if decision not in DECISIONS:
        raise ValidationFailed(details={"field": "decision", "allowed": list(DECISIONS)})
    reason = (reason or "").strip() or None
    if decision == "reject" and not reason:
        raise ValidationFailed("驳回须填写原因", details={"field": "reason", "problem": "required to reject"})
    if reason and len(reason) > 255:
        raise ValidationFailed(details={"field": "reason", "problem": "at most 255 characters"})
    with write_transaction():
        record = db.session.get(Record, record_id)
        if record is None or record.photo is None:
            raise NotFound()
        corrected = _corrected_weight(record, weight_kg)
        values = {"status": RecordStatus.CREDITED if decision == "approve" else RecordStatus.REJECTED,
                  "decided_at": utcnow(), "decided_by": staff_id}
        if decision == "reject":
            # A rejected meal frees its slot, so the user can record that meal again with a proper photo.
            values.update(reject_reason=reason, dedup_key=None)
        elif corrected is not None:
            co2 = accounting.co2_grams(record.factor.grams_per_unit, corrected)
            values.update(quantity=corrected, co2_g=co2, points=accounting.points_for(co2),
                          data={**(record.data or {}), "weight_kg": str(corrected),
                                "claimed_weight_kg": (record.data or {}).get("weight_kg")})
        changed = db.session.execute(
            update(Record).where(Record.id == record_id, Record.status == RecordStatus.PENDING)
            .values(**values).execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise AlreadyDecided()
        db.session.refresh(record)
        if decision == "approve" and record.points > 0:
            ledger.post_entry(record.user_id, record.points, LedgerReason.RECORD_CREDIT,
                              record_id=record.id, co2_g=record.co2_g)
        db.session.add(AuditEntry(staff_id=staff_id, action=f"record_{decision}", record_id=record.id,
                                  details=_audit_details(record, reason, corrected)))
    notifications.record_decided(record)
    return record


def _corrected_weight(record: Record, weight_kg: Decimal | str | None) -> Decimal | None:
    if weight_kg in (None, ""):
        return None
    if record.kind != "recycling":
        raise ValidationFailed(details={"field": "weight_kg", "problem": "only recycling records have a weight"})
    weight = parse_weight(weight_kg)
    return None if weight == record.quantity else weight


def _audit_details(record: Record, reason: str | None, corrected: Decimal | None) -> dict:
    details = {"kind": record.kind, "points": str(record.points), "co2_g": str(record.co2_g)}
    if reason:
        details["reason"] = reason
    if corrected is not None:
        details["weight_kg"] = str(corrected)
    return details


def open_photo(photo_id: int) -> tuple[IO[bytes], str]:
    """A stored photo for staff (moderators may see every photo)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.storage_key is None:
        raise NotFound()
    return storage().open(photo.storage_key), photo.content_type
