"""Appeals (申诉): a user contests a moderator's rejection or the automatic refusal of a trip, once;
another moderator decides, once; a grant credits what was refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.database import write_transaction
from app.errors import Conflict, DailyLimitReached, DomainError, DuplicateRecord, NotFound, ValidationFailed
from app.extensions import db
from app.models import Appeal, AppealStatus, AuditEntry, Photo, Record, RecordStatus, Staff, Trip, TripRefusal
from app.models.types import utcnow
from app.services import accounting, clock, ledger, notifications, trips
from app.services import track_analysis as tracks
from app.services.photos import Behaviour, refuse_daily_excess
from app.services.records import newest_first_page

MAX_TEXT = 500
MAX_REASON = 255
DECISIONS = ("grant", "deny")
WITHDRAWN_REASON = "用户已注销账户"


class NotAppealable(DomainError):
    status, code, message = 422, "not_appealable", "只能对被驳回的照片记录或被拒绝的行程申诉"


class SameModerator(DomainError):
    status, code, message = 403, "same_moderator", "申诉须由另一位审核员处理：原决定是你作出的"


class AppealAlreadyDecided(Conflict):
    code, message = "already_decided", "该申诉已处理"


# -- the user's side: POST/GET /api/v1/appeals ----------------------------------------------------------------

def submit_appeal(user_id: int, *, record_id: int | None, trip_refusal_id: int | None, text: str) -> Appeal:
    """One appeal per rejected photo record or refused trip of the user's own (anyone else's: 404)."""
    if (record_id is None) == (trip_refusal_id is None):
        raise ValidationFailed("请指定 record_id 或 trip_refusal_id 之一",
                               details={"field": "record_id", "problem": "exactly one of record_id, trip_refusal_id"})
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_TEXT:
        raise ValidationFailed(details={"field": "text", "problem": f"1 to {MAX_TEXT} characters"})
    with write_transaction():
        appeal = Appeal(user_id=user_id, text=text, status=AppealStatus.PENDING, created_at=utcnow())
        if record_id is not None:
            record = db.session.get(Record, record_id)
            if record is None or record.user_id != user_id:
                raise NotFound()
            _refuse_unappealable_record(record)
            appeal.record_id, appeal.first_decided_by, appeal.first_reason = (
                record.id, record.decided_by, record.reject_reason)
            taken = Appeal.record_id == record.id
        else:
            refusal = db.session.get(TripRefusal, trip_refusal_id)
            if refusal is None or refusal.user_id != user_id:
                raise NotFound()
            _refuse_unappealable_trip(refusal)
            appeal.trip_refusal_id, appeal.first_reason = refusal.id, refusal.reason
            taken = Appeal.trip_refusal_id == refusal.id
        earlier = db.session.scalar(select(Appeal.id).where(taken))
        if earlier is not None:
            raise DuplicateRecord("已经申诉过，每项只能申诉一次", details={"appeal_id": earlier})
        db.session.add(appeal)
        db.session.flush()  # two appeals racing in: the unique key answers 409 duplicate_record here
    return appeal


def _refuse_unappealable_record(record: Record) -> None:
    # Only a moderator's rejection of photo evidence: not a pending or credited record, nor a GPS trip
    # superseded by an operator's verified one, nor a record withdrawn when its owner left.
    if record.status != RecordStatus.REJECTED or record.photo is None or record.decided_by is None:
        raise NotAppealable(details={"record_id": record.id, "status": record.status})


def _refuse_unappealable_trip(refusal: TripRefusal) -> None:
    if not refusal.distance_km:
        raise NotAppealable("该行程没有可核实的里程，不能申诉",
                            details={"trip_refusal_id": refusal.id, "reason": "nothing_measured"})
    if refusal.track is None:
        raise NotAppealable("该行程的轨迹已过保留期，不能申诉",
                            details={"trip_refusal_id": refusal.id, "reason": "track_expired"})


def _with_results():
    return select(Appeal).options(selectinload(Appeal.granted_record).selectinload(Record.factor),
                                  selectinload(Appeal.granted_record).selectinload(Record.photo),
                                  selectinload(Appeal.granted_record).selectinload(Record.trip))


def list_appeals(user_id: int, *, limit: int, cursor: str | None) -> tuple[list[Appeal], str | None]:
    """The user's own appeals, newest first, a page at a time."""
    return newest_first_page(_with_results().where(Appeal.user_id == user_id), Appeal, limit, cursor)


def user_appeal(user_id: int, appeal_id: int) -> Appeal:
    appeal = db.session.scalar(_with_results().where(Appeal.id == appeal_id))
    if appeal is None or appeal.user_id != user_id:
        raise NotFound()
    return appeal


# -- the moderators' side: /admin/appeals ---------------------------------------------------------------------

@dataclass(frozen=True)
class AppealQueue:
    items: list[Appeal]
    pending: int


@dataclass(frozen=True)
class AppealDetail:
    appeal: Appeal
    record: Record | None  # the rejected photo record, with its photo
    refusal: TripRefusal | None
    first_moderator: Staff | None  # who rejected it; None for a trip (the automatic check)
    moderator: Staff | None  # who decided the appeal


def appeal_queue(limit: int = 50, after_id: int | None = None) -> AppealQueue:
    """Pending appeals, oldest first (a page starts after `after_id`)."""
    query = (select(Appeal).where(Appeal.status == AppealStatus.PENDING)
             .options(selectinload(Appeal.user), selectinload(Appeal.record).selectinload(Record.photo),
                      selectinload(Appeal.trip_refusal)))
    if after_id is not None:
        query = query.where(Appeal.id > after_id)
    items = db.session.scalars(query.order_by(Appeal.id).limit(limit)).all()
    pending = db.session.scalar(select(func.count(Appeal.id)).where(Appeal.status == AppealStatus.PENDING))
    return AppealQueue(items=list(items), pending=pending)


def appeal_detail(appeal_id: int) -> AppealDetail:
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound()
    staff = lambda staff_id: db.session.get(Staff, staff_id) if staff_id else None  # noqa: E731
    return AppealDetail(appeal=appeal, record=appeal.record, refusal=appeal.trip_refusal,
                        first_moderator=staff(appeal.first_decided_by), moderator=staff(appeal.decided_by))


def decide_appeal(appeal_id: int, staff_id: int, decision: str, reason: str | None) -> Appeal:
    """Grant (credit what was refused) or deny, with a reason the user reads, exactly once, by a
    moderator other than the one who rejected the record (any moderator for a trip refused by the
    automatic check). The conditional UPDATE ... WHERE status = 'pending' is the guard against two
    moderators deciding at the same moment, as in moderation.decide."""
    if decision not in DECISIONS:
        raise ValidationFailed(details={"field": "decision", "allowed": list(DECISIONS)})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("须填写处理理由", details={"field": "reason", "problem": "required"})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(details={"field": "reason", "problem": f"at most {MAX_REASON} characters"})
    now = utcnow()
    with write_transaction():
        appeal = db.session.get(Appeal, appeal_id)
        if appeal is None:
            raise NotFound()
        if appeal.first_decided_by is not None and appeal.first_decided_by == staff_id:
            raise SameModerator()
        changed = db.session.execute(
            update(Appeal).where(Appeal.id == appeal_id, Appeal.status == AppealStatus.PENDING)
            .values(status=AppealStatus.GRANTED if decision == "grant" else AppealStatus.DENIED,
                    decided_at=now, decided_by=staff_id, outcome_reason=reason)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise AppealAlreadyDecided()
        db.session.refresh(appeal)
        credited = None
        if decision == "grant":
            credited = (_credit_rejected_record(appeal.record, staff_id, now) if appeal.record_id
                        else _credit_refused_trip(appeal, now))
            appeal.granted_record_id = credited.id
        db.session.add(AuditEntry(staff_id=staff_id, action=f"appeal_{decision}",
                                  record_id=appeal.record_id or (credited.id if credited else None),
                                  details={"appeal_id": appeal.id, "reason": reason,
                                           "trip_refusal_id": appeal.trip_refusal_id,
                                           "points": str(credited.points) if credited else None}))
    notifications.appeal_decided(appeal)
    return appeal


def _credit_rejected_record(record: Record, staff_id: int, now: datetime) -> Record:
    """The rejected record credited with the points it was uploaded with, as an approval would have."""
    data = record.data or {}
    dedup_key = f"meal:{data['date']}:{data['meal']}" if record.kind == "meal" else None
    # The daily caps and the one-meal-per-slot rule as they stand now: a meal recorded again since the
    # rejection, or a day filled up since, is refused (409), and the moderator can deny with that reason.
    refuse_daily_excess(record.user_id, Behaviour(record.kind, record.subtype, record.quantity, record.unit,
                                                   record.day, dedup_key, data))
    changed = db.session.execute(
        update(Record).where(Record.id == record.id, Record.status == RecordStatus.REJECTED)
        .values(status=RecordStatus.CREDITED, reject_reason=None, dedup_key=dedup_key, decided_at=now,
                decided_by=staff_id).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise AppealAlreadyDecided("该记录的状态已改变", details={"record_id": record.id})
    db.session.refresh(record)
    ledger.credit_record(record)
    return record


def _credit_refused_trip(appeal: Appeal, now: datetime) -> Record:
    """A travel record from the refused trip's stored summary, as POST /trips would have credited it:
    the factor in force when the trip was sent, the day the trip started (Shanghai time)."""
    refusal = appeal.trip_refusal
    day = clock.local_day(refusal.started_at)
    trips.lock_user(refusal.user_id)
    try:
        # The daily cap as it stands at the grant: trips credited that day since the refusal count
        # first, so the appealed trip gets only what is left of the day's kilometres (daily_cap_applied),
        # or nothing at all (0 km, 0 points) when the day's cap or trip count is already used up. The
        # appeal is still granted: the refusal was wrong, the cap is a rule of its own.
        credited_km = trips.credit_within_daily_cap(refusal.user_id, refusal.mode, day, refusal.distance_km)
    except DailyLimitReached:
        credited_km = Decimal("0.000")
    credit = accounting.credit_for("travel", refusal.mode, credited_km, refusal.created_at)
    data = {"trip_refusal_id": refusal.id, "appeal_id": appeal.id}
    if credited_km < refusal.distance_km:
        data["daily_cap_applied"] = True
    record = Record(user_id=refusal.user_id, kind="travel", subtype=refusal.mode, status=RecordStatus.PENDING,
                    quantity=credited_km, unit="km", co2_g=credit.co2_g, points=credit.points,
                    factor_id=credit.factor.id, day=day, created_at=now, data=data)
    db.session.add(record)
    db.session.flush()
    shape = tracks.track_shape(tracks.parse_track(refusal.track))
    start_cell, end_cell = tracks.shape_cells(shape)
    # The same digest as a kept trip (an exact copy refused as duplicate_track) fails the unique key:
    # 409 duplicate_record, so a copied track can never be credited twice, even by an appeal.
    db.session.add(Trip(record_id=record.id, user_id=refusal.user_id, mode=refusal.mode,
                        distance_km=refusal.distance_km, started_at=refusal.started_at, ended_at=refusal.ended_at,
                        point_count=refusal.point_count, track=refusal.track, shape=[list(p) for p in shape],
                        shape_span_ds=tracks.shape_span_ds(shape), start_cell=start_cell, end_cell=end_cell,
                        track_digest=refusal.track_digest))
    db.session.flush()
    ledger.credit_record(record)
    return record


# -- the override figure on the dashboard ---------------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateOverrides:
    """How often people overruled the automatic duplicate check: of the photo records it flagged as
    suspected duplicates and a moderator decided, how many ended credited (approved at review, or
    granted on appeal after a rejection)."""

    decided: int
    credited: int
    via_appeal: int  # of `credited`: rejected first, then granted on appeal

    @property
    def percent(self) -> Decimal | None:
        if not self.decided:
            return None
        return accounting.round_half_up(Decimal(self.credited * 100) / self.decided, Decimal("0.1"))


def duplicate_overrides() -> DuplicateOverrides:
    flagged = (select(Record.status, func.count(Record.id)).join(Photo, Photo.record_id == Record.id)
               .where(Photo.suspected_original_id.is_not(None), Record.decided_by.is_not(None),
                      Record.status.in_((RecordStatus.CREDITED, RecordStatus.REJECTED)))
               .group_by(Record.status))
    counts = dict(db.session.execute(flagged).all())
    via_appeal = db.session.scalar(
        select(func.count(Appeal.id)).join(Photo, Photo.record_id == Appeal.record_id)
        .where(Photo.suspected_original_id.is_not(None), Appeal.status == AppealStatus.GRANTED)) or 0
    credited = counts.get(RecordStatus.CREDITED, 0)
    return DuplicateOverrides(decided=credited + counts.get(RecordStatus.REJECTED, 0), credited=credited,
                              via_appeal=via_appeal)


# -- privacy: export and erasure (app.services.privacy) -------------------------------------------------------

def export_for(user_id: int) -> dict:
    return {
        "trip_refusals": [{"id": r.id, "mode": r.mode, "reason": r.reason, "distance_km": r.distance_km,
                           "started_at": r.started_at, "ended_at": r.ended_at, "point_count": r.point_count,
                           "created_at": r.created_at, "track": r.track}
                          for r in db.session.scalars(select(TripRefusal).where(TripRefusal.user_id == user_id)
                                                      .order_by(TripRefusal.id))],
        "appeals": [{"id": a.id, "record_id": a.record_id, "trip_refusal_id": a.trip_refusal_id, "text": a.text,
                     "status": a.status, "created_at": a.created_at, "decided_at": a.decided_at,
                     "outcome_reason": a.outcome_reason}
                    for a in db.session.scalars(select(Appeal).where(Appeal.user_id == user_id).order_by(Appeal.id))],
    }


def forget_user(user_id: int, now: datetime) -> None:
    """In the account deletion's transaction: refused tracks and appeal texts go, pending appeals
    leave the queue (denied, reason 用户已注销账户); the rows stay as the record of what was decided."""
    db.session.execute(update(TripRefusal).where(TripRefusal.user_id == user_id).values(track=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Appeal).where(Appeal.user_id == user_id, Appeal.status == AppealStatus.PENDING)
                       .values(status=AppealStatus.DENIED, decided_at=now, outcome_reason=WITHDRAWN_REASON)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Appeal).where(Appeal.user_id == user_id).values(text="")
                       .execution_options(synchronize_session=False))
