"""绿色出行: a trip measured from its GPS track, checked against cheating, credited at once."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import bindparam, case, func, select, update

from app.database import SerialisedJSON, Write, attach_as_loaded, write_transaction
from app.errors import DailyLimitReached, ImplausibleTrip, ValidationFailed
from app.extensions import db
from app.models import Account, Appeal, AppealStatus, Record, RecordStatus, Trip, TripRefusal
from app.models.types import utcnow
from app.services import accounting, clock, ledger
from app.services import track_analysis as tracks

MODES = ("bike", "bus", "subway")
# Two riders' tracks of one journey that start this close together are people travelling together.
TRAVELLING_TOGETHER = timedelta(minutes=5)
# A GPS trip and an operator's verified trip overlapping by more than this are one journey, credited
# once (the verified one); a shorter overlap is a hand-off (GPS stopped after the metro tap-in).
HANDOFF_OVERLAP = timedelta(minutes=2)


def record_trip(user_id: int, mode: object, raw_track: object, now: datetime | None = None) -> Record:
    """Credit a plausible trip; an implausible one is refused (ImplausibleTrip) and kept as a
    TripRefusal that the user may appeal, its id in the refusal's details.refusal_id."""
    if mode not in MODES:
        raise ValidationFailed(details={"field": "mode", "allowed": list(MODES)})
    now = now or clock.now()
    points = tracks.parse_track(raw_track)
    try:
        return _credit_trip(user_id, mode, raw_track, points, now)
    except ImplausibleTrip as refusal:
        # After the refused transaction rolled back (nothing credited), in a short one of its own.
        # Under an Idempotency-Key the whole request is one transaction: the view answers the 422
        # without raising, so that this row commits together with the stored answer.
        refusal.details["refusal_id"] = keep_refusal(user_id, mode, raw_track, points, refusal, now).id
        raise


def keep_refusal(user_id: int, mode: str, raw_track: list, points: list[tracks.TrackPoint],
                 refusal: ImplausibleTrip, now: datetime) -> TripRefusal:
    measurable = len(points) >= 2
    track = _serialised(raw_track)
    with write_transaction():
        row = TripRefusal(
            user_id=user_id, mode=mode, reason=str(refusal.details.get("reason", "implausible"))[:32],
            details=dict(refusal.details), point_count=len(points), track=track, track_digest=_digest(track),
            distance_km=tracks.track_distance_km(points) if measurable else None,
            started_at=min(p.t for p in points) if points else None,
            ended_at=max(p.t for p in points) if points else None, created_at=now)
        db.session.add(row)
        db.session.flush()
    return row


def _credit_trip(user_id: int, mode: str, raw_track: list, points: list[tracks.TrackPoint],
                 now: datetime) -> Record:
    summary = tracks.check_plausible(mode, points, now, tracks.DEFAULT_RULES[mode])
    shape = tracks.track_shape(points)
    start_cell, end_cell = tracks.shape_cells(shape)
    day = clock.local_day(summary.started_at)
    with write_transaction():
        lock_user(user_id)
        _refuse_overlap(user_id, summary.started_at, summary.ended_at)
        track = _serialised(raw_track)
        digest = _digest(track)
        _refuse_replay(user_id, summary.started_at, shape, start_cell, digest)
        credited_km = credit_within_daily_cap(user_id, mode, day, summary.distance_km)
        credit = accounting.credit_for("travel", mode, credited_km, now)
        # Inserted credited, with Core statements (the ORM's flush of two new objects cost ~15% of a trip),
        # then handed to the session as loaded objects so that the answer reads them without a query.
        record = Record(user_id=user_id, kind="travel", subtype=mode, status=RecordStatus.CREDITED,
                        quantity=credited_km, unit="km", co2_g=credit.co2_g, points=credit.points,
                        factor_id=credit.factor.id, day=day, dedup_key=None,
                        data={"daily_cap_applied": True} if credited_km < summary.distance_km else None,
                        source="user", verified=False, reject_reason=None, created_at=now, decided_at=utcnow(),
                        decided_by=None)
        connection = db.session.connection()
        record.id = _INSERT_RECORD.insert_id(connection, _column_values(record, _RECORD_COLUMNS))
        trip = Trip(record_id=record.id, user_id=user_id, mode=mode, distance_km=summary.distance_km,
                    started_at=summary.started_at, ended_at=summary.ended_at, point_count=summary.point_count,
                    track=track, shape=[list(p) for p in shape], shape_span_ds=tracks.shape_span_ds(shape),
                    start_cell=start_cell, end_cell=end_cell, track_digest=digest)
        # Where an identical track raced in from someone else, its unique digest fails here (409).
        _INSERT_TRIP.execute(connection, _column_values(trip, _TRIP_COLUMNS))
        record.factor, record.trip, record.photo = credit.factor, trip, None
        attach_as_loaded(record, trip)
        ledger.book_credit(record)
    return record


def _column_values(row: Record | Trip, columns: tuple[str, ...]) -> dict:
    return {name: getattr(row, name) for name in columns}


def _serialised(raw_track: list) -> SerialisedJSON:
    """The track with its canonical JSON text: its digest is taken over that text, and it is stored as it."""
    return SerialisedJSON(raw_track, json.dumps(raw_track, sort_keys=True, separators=(",", ":")))


def _digest(track: SerialisedJSON) -> str:
    return hashlib.sha256(track.text.encode()).hexdigest()


def lock_user(user_id: int) -> None:
    # Serialises one user's trip checks on PostgreSQL and MariaDB (SQLite's BEGIN IMMEDIATE already does).
    if db.engine.dialect.name == "sqlite":
        return
    db.session.execute(select(Account.user_id).where(Account.user_id == user_id).with_for_update())


def _refuse_overlap(user_id: int, started_at: datetime, ended_at: datetime) -> None:
    """One person makes one trip at a time. Overlapping an operator's verified trip (beyond a hand-off)
    means this GPS track repeats it: refused, the verified one keeps the credit."""
    clashes = _OVERLAPPING.rows(db.session.connection(),
                                {"user_id": user_id, "started_at": started_at, "ended_at": ended_at})
    for record_id, other_start, other_end, verified, source in clashes:
        if not verified:
            raise ImplausibleTrip("该行程与已记录的行程时间重叠",
                                  details={"reason": "overlaps_other_trip", "record_id": record_id})
        if min(ended_at, other_end) - max(started_at, other_start) > HANDOFF_OVERLAP:
            raise ImplausibleTrip("该行程已由合作方核实记录", details={
                "reason": "verified_trip_exists", "record_id": record_id, "source": source})


# The checks every trip runs, built once and run as Writes on the transaction's connection: through the
# ORM each cost ~0.9 ms of SQLAlchemy (a twentieth of a trip) around a lookup the database does in µs.
_TRIPS, _RECORDS = Trip.__table__, Record.__table__
_OVERLAPPING = Write(
    select(_TRIPS.c.record_id, _TRIPS.c.started_at, _TRIPS.c.ended_at, _RECORDS.c.verified, _RECORDS.c.source)
    .join(_RECORDS, _RECORDS.c.id == _TRIPS.c.record_id)
    .where(_TRIPS.c.user_id == bindparam("user_id"),
           _TRIPS.c.started_at < bindparam("ended_at", type_=_TRIPS.c.started_at.type),
           _TRIPS.c.ended_at > bindparam("started_at", type_=_TRIPS.c.ended_at.type)))
_RECORD_COLUMNS = tuple(c.key for c in _RECORDS.columns if c.key != "id")
_INSERT_RECORD = Write.insert(_RECORDS, _RECORD_COLUMNS, inserts_id=True)
_TRIP_COLUMNS = tuple(c.key for c in _TRIPS.columns)
_INSERT_TRIP = Write.insert(_TRIPS, _TRIP_COLUMNS)
_SAME_DIGEST = Write(select(_TRIPS.c.record_id).where(_TRIPS.c.track_digest == bindparam("digest")))
_REPLAY_CANDIDATES = Write(
    select(_TRIPS.c.user_id, _TRIPS.c.started_at, _TRIPS.c.shape)
    .where(_TRIPS.c.start_cell.in_([bindparam(f"cell_{i}") for i in range(9)]),  # neighbour_cells: 9
           _TRIPS.c.shape_span_ds.between(bindparam("shortest"), bindparam("longest")),
           _TRIPS.c.shape.is_not(None)))
_TRAVEL_OF_DAY = Write(
    select(func.sum(case((_RECORDS.c.subtype == bindparam("mode"), _RECORDS.c.quantity))),
           func.count(_RECORDS.c.id))
    .where(_RECORDS.c.user_id == bindparam("user_id"), _RECORDS.c.kind == "travel",
           _RECORDS.c.day == bindparam("day", type_=_RECORDS.c.day.type),
           _RECORDS.c.status != RecordStatus.REJECTED))


def supersede_gps_trips(user_id: int, started_at: datetime, ended_at: datetime) -> list[Record]:
    """GPS trips that an operator's verified trip repeats (overlap beyond a hand-off), now rejected.

    Called in the verified trip's transaction with the user locked; the caller reverses their credit
    (LedgerReason.RECORD_REVERSAL) once the verified credit is booked.
    """
    rows = db.session.execute(
        select(Record, Trip.started_at, Trip.ended_at).join(Trip, Trip.record_id == Record.id)
        .where(Trip.user_id == user_id, Trip.started_at < ended_at, Trip.ended_at > started_at,
               Record.verified.is_(False), Record.status == RecordStatus.CREDITED)).all()
    superseded = []
    for record, other_start, other_end in rows:
        if min(ended_at, other_end) - max(started_at, other_start) > HANDOFF_OVERLAP:
            record.status = RecordStatus.REJECTED
            record.reject_reason = "与合作方核实的行程重复，已以核实记录为准"
            superseded.append(record)
    db.session.flush()
    return superseded


def _refuse_replay(user_id: int, started_at: datetime, shape, start_cell: str, digest: str) -> None:
    """A copy of any kept track, by anyone, even shifted in time or jittered, earns nothing.

    The same journey at the same moment by another user is travelling together (a bus full of
    riders, a couple cycling side by side), not a copy: only the exact same submission is refused then.
    """
    connection = db.session.connection()
    if _SAME_DIGEST.rows(connection, {"digest": digest}):
        raise ImplausibleTrip("该轨迹已被提交过", details={"reason": "duplicate_track"})
    shortest, longest = tracks.replay_span_range(shape)
    cells = {f"cell_{i}": cell for i, cell in enumerate(tracks.neighbour_cells(start_cell))}
    candidates = _REPLAY_CANDIDATES.rows(connection, {**cells, "shortest": shortest, "longest": longest})
    for other_user_id, other_started_at, other_shape in candidates:
        together = other_user_id != user_id and abs(other_started_at - started_at) <= TRAVELLING_TOGETHER
        if not together and tracks.same_journey(other_shape, shape):
            raise ImplausibleTrip("该轨迹与已提交的轨迹相同", details={"reason": "duplicate_track"})


def credit_within_daily_cap(user_id: int, mode: str, day, distance_km: Decimal) -> Decimal:
    """Credit at most the day's cap per mode (kilometres) and a bounded number of trips a day
    (GPS and partner trips together; a trip superseded by a verified one no longer counts)."""
    ((credited_today, all_trips_today),) = _TRAVEL_OF_DAY.rows(
        db.session.connection(), {"user_id": user_id, "mode": mode, "day": day})
    cap_km = current_app.config["TRIP_DAILY_CAP_KM"][mode]
    remaining = cap_km - (credited_today or Decimal(0))
    if remaining <= 0 or all_trips_today >= current_app.config["TRIP_DAILY_CAP_COUNT"]:
        raise DailyLimitReached(details={"mode": mode, "day": day.isoformat(), "cap_km": cap_km,
                                         "cap_trips": current_app.config["TRIP_DAILY_CAP_COUNT"]})
    return min(distance_km, remaining)


def purge_old_tracks(now: datetime | None = None) -> int:
    """Reduce trips older than TRACK_RETENTION_DAYS to their summary (raw points and shape dropped),
    refused trips too (kept while an appeal of theirs is pending)."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["TRACK_RETENTION_DAYS"])
    with write_transaction():
        reduced = db.session.execute(
            update(Trip).where(Trip.ended_at < cutoff, Trip.track.is_not(None))
            .values(track=None, shape=None).execution_options(synchronize_session=False)).rowcount
        # A refused trip's track is evidence for its appeal: kept while one is pending.
        appealed = select(Appeal.trip_refusal_id).where(Appeal.status == AppealStatus.PENDING,
                                                        Appeal.trip_refusal_id.is_not(None))
        refused = db.session.execute(
            update(TripRefusal).where(TripRefusal.created_at < cutoff, TripRefusal.track.is_not(None),
                                      TripRefusal.id.not_in(appealed))
            .values(track=None).execution_options(synchronize_session=False)).rowcount
        return reduced + refused
