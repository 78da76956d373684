"""Photo evidence: 垃圾分类, 旧物回收 and 环保饮食 proved by a photo that no one has uploaded before."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
import numpy as np
from sqlalchemy import func, select

from app.database import write_transaction
from app.errors import Conflict, DailyLimitReached, DuplicateRecord, NotFound, ValidationFailed
from app.extensions import db
from app.models import Mutex, Photo, PhotoHash, Record, RecordStatus
from app.services import accounting, clock, images
from app.services import photo_fingerprint as fp
from app.services.storage import storage

PHOTO_KINDS = ("sorting", "recycling", "meal")
MATERIALS = ("textile", "paper")
MEALS = ("breakfast", "lunch", "dinner")
MAX_WEIGHT_KG = Decimal("50")


class DuplicatePhoto(Conflict):
    code, message = "duplicate_photo", "这张照片已经上传过"


@dataclass(frozen=True)
class Behaviour:
    kind: str
    subtype: str | None
    quantity: Decimal
    unit: str
    day: date
    dedup_key: str | None
    data: dict


def parse_behaviour(kind: object, form: dict, now: datetime) -> Behaviour:
    """The contract's fields per kind: recycling needs material and weight_kg, a meal its slot and date."""
    today = clock.local_day(now)
    if kind == "sorting":
        return Behaviour("sorting", "kitchen", Decimal(1), "time", today, None, {})
    if kind == "recycling":
        material = form.get("material")
        if material not in MATERIALS:
            raise ValidationFailed(details={"field": "material", "allowed": list(MATERIALS)})
        weight = parse_weight(form.get("weight_kg"))
        return Behaviour("recycling", material, weight, "kg", today, None, {"weight_kg": str(weight)})
    if kind == "meal":
        meal = form.get("meal")
        if meal not in MEALS:
            raise ValidationFailed(details={"field": "meal", "allowed": list(MEALS)})
        day = _parse_meal_date(form.get("date"), today)
        return Behaviour("meal", None, Decimal(1), "serving", day, f"meal:{day.isoformat()}:{meal}",
                         {"meal": meal, "date": day.isoformat()})
    raise ValidationFailed(details={"field": "kind", "allowed": list(PHOTO_KINDS)})


def parse_weight(value: object) -> Decimal:
    """0 < weight_kg ≤ 50, at most 3 decimals (grams)."""
    try:
        weight = Decimal(str(value).strip()) if value is not None else None
    except InvalidOperation:
        weight = None
    if weight is None or not weight.is_finite() or not 0 < weight <= MAX_WEIGHT_KG or weight != weight.quantize(
            Decimal("0.001")):
        raise ValidationFailed(details={"field": "weight_kg", "problem": "a number of kg, 0 < w ≤ 50, 3 decimals"})
    return weight.quantize(Decimal("0.001"))


def _parse_meal_date(value: object, today: date) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValidationFailed(details={"field": "date", "problem": "expected YYYY-MM-DD"})
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(details={"field": "date", "problem": "not a calendar date"}) from None
    if day not in (today, today - timedelta(days=1)):
        raise ValidationFailed(details={"field": "date", "problem": "today or yesterday only",
                                        "allowed": [today.isoformat(), (today - timedelta(days=1)).isoformat()]})
    return day


def submit_photo(user_id: int, data: bytes, kind: object, form: dict, now: datetime | None = None) -> Record:
    """Store a photo and its pending record, unless it is a copy of any photo ever uploaded."""
    now = now or clock.now()
    behaviour = parse_behaviour(kind, form, now)
    config = current_app.config
    clean = images.clean_upload(data, config["MAX_PHOTO_BYTES"], config["MAX_PHOTO_PIXELS"])
    try:
        fingerprint = fp.fingerprint(fp.open_for_hashing(data))
    except ValueError:
        raise images.UnsupportedImage("照片已损坏，无法解码") from None
    sha256 = hashlib.sha256(data).hexdigest()
    credit = accounting.credit_for(behaviour.kind, behaviour.subtype, behaviour.quantity, now)
    store = storage()
    key = store.save(clean.data)  # complete on disk before the row that owns it commits
    try:
        with write_transaction():
            _lock_duplicate_check()
            refuse_daily_excess(user_id, behaviour)
            suspect = _refuse_copies(sha256, fingerprint)
            record = Record(user_id=user_id, kind=behaviour.kind, subtype=behaviour.subtype,
                            status=RecordStatus.PENDING, quantity=behaviour.quantity, unit=behaviour.unit,
                            co2_g=credit.co2_g, points=credit.points, factor_id=credit.factor.id,
                            day=behaviour.day, dedup_key=behaviour.dedup_key, data=behaviour.data or None,
                            created_at=now)
            db.session.add(record)
            db.session.flush()  # one meal per slot per day: the unique dedup_key answers 409 here
            photo = Photo(record_id=record.id, user_id=user_id, storage_key=key, content_type="image/jpeg",
                          width=clean.width, height=clean.height, byte_size=len(clean.data), sha256=sha256,
                          signature=fingerprint.signature, created_at=now,
                          suspected_original_id=suspect[0] if suspect else None,
                          suspected_distance=suspect[1] if suspect else None)
            photo.hashes = [PhotoHash(hash=_signed(h), band0=b[0], band1=b[1], band2=b[2])
                            for h in fingerprint.index_hashes for b in [fp.bands(h)]]
            db.session.add(photo)
            db.session.flush()
    except BaseException:
        store.delete(key)
        raise
    return record


def _lock_duplicate_check() -> None:
    # Serialises check-then-insert across workers and servers, so two near copies uploaded at the
    # same moment cannot both pass (SQLite's BEGIN IMMEDIATE already serialises all writers).
    if db.session.scalar(select(Mutex.name).where(Mutex.name == "photo_dedup").with_for_update()) is None:
        raise RuntimeError("the photo_dedup mutex row is missing: run `flask --app wsgi db upgrade`")


def refuse_daily_excess(user_id: int, behaviour: Behaviour) -> None:
    if behaviour.dedup_key is not None:
        taken = db.session.scalar(select(Record.id).where(Record.user_id == user_id,
                                                          Record.dedup_key == behaviour.dedup_key))
        if taken is not None:
            raise DuplicateRecord("这一餐已经记录过", details={"record_id": taken})
    cap = current_app.config["PHOTO_DAILY_CAP"].get(behaviour.kind)
    if cap is None:
        return
    today_count = db.session.scalar(
        select(func.count(Record.id)).where(Record.user_id == user_id, Record.kind == behaviour.kind,
                                            Record.day == behaviour.day, Record.status != RecordStatus.REJECTED))
    if today_count >= cap:
        raise DailyLimitReached(details={"kind": behaviour.kind, "day": behaviour.day.isoformat(), "cap": cap})


def _refuse_copies(sha256: str, fingerprint: fp.Fingerprint) -> tuple[int, int] | None:
    """Refuse an exact or certain copy of any stored photo; return (photo id, distance) of a suspect."""
    if db.session.scalar(select(Photo.id).where(Photo.sha256 == sha256)) is not None:
        raise DuplicatePhoto(details={"match": "same_file"})
    suspect: tuple[int, int] | None = None
    for candidate in nearest_photos(fingerprint.query_hashes):
        verdict = fp.judge(fingerprint, candidate.hashes, candidate.signature)
        if verdict.decision == "duplicate":
            raise DuplicatePhoto(details={"match": verdict.reason})
        if verdict.decision == "suspect" and (suspect is None or verdict.distance < suspect[1]):
            suspect = (candidate.photo_id, verdict.distance)
    return suspect


@dataclass(frozen=True)
class Candidate:
    photo_id: int
    distance: int
    hashes: list[int]
    signature: str


def nearest_photos(query_hashes, limit: int = 20, before_id: int | None = None) -> list[Candidate]:
    """Stored photos with a hash within CANDIDATE_DISTANCE of any query hash, nearest first.

    Multi-index lookup: each band's radius-2 ball goes through its covering index; no scan. Two round
    trips at most: the band probes, then the signatures and hashes of the candidates within distance.
    """
    query_hashes = list(query_hashes)
    connection = db.session.connection()
    rows = connection.exec_driver_sql(*_probe_sql(connection.dialect.name, _band_probes(query_hashes),
                                                  before_id)).all()
    best: dict[int, int] = {}
    if rows:
        # Exact distances of every probed row to every query hash at once (numpy popcount).
        stored = np.array([h for _, h in rows], dtype=np.int64).view(np.uint64)
        queries = np.array(query_hashes, dtype=np.uint64)
        distances = np.bitwise_count(stored[:, None] ^ queries[None, :]).min(axis=1)
        for index in np.flatnonzero(distances <= fp.CANDIDATE_DISTANCE).tolist():
            photo_id, distance = rows[index][0], int(distances[index])
            best[photo_id] = min(distance, best.get(photo_id, 65))
    nearest = sorted(best.items(), key=lambda item: (item[1], item[0]))[:limit]
    if not nearest:
        return []
    # Only now, and only for these few photos, the signatures and every stored hash, in one round trip.
    ids = ",".join(str(int(photo_id)) for photo_id, _ in nearest)
    signatures: dict[int, str] = {}
    hashes: dict[int, list[int]] = {}
    for photo_id, stored_hash, signature in connection.exec_driver_sql(
            f"SELECT id, NULL, signature FROM {Photo.__tablename__} WHERE id IN ({ids}) UNION ALL "
            f"SELECT photo_id, hash, NULL FROM {PhotoHash.__tablename__} WHERE photo_id IN ({ids})"):
        if stored_hash is None:
            signatures[photo_id] = signature
        else:
            hashes.setdefault(photo_id, []).append(_unsigned(stored_hash))
    return [Candidate(photo_id, distance, hashes[photo_id], signatures[photo_id]) for photo_id, distance in nearest]


def _probe_sql(dialect: str, probes: list[list[int]], before_id: int | None) -> tuple[str, tuple]:
    """One indexed probe per band, joined by UNION ALL (an OR across three columns made SQLite scan).

    The probe values are ints computed here, never user input. SQLite gets each band's values as one
    bound JSON array that it joins through the band's index: the statement text never changes, so it
    is prepared once per connection (a new text of ~9,000 literals per upload cost more to parse than
    the probes). CROSS JOIN fixes the loop order (SQLite's rule): the probe values outside, an index
    seek each inside, whatever the statistics say. The other databases get the values inline: an IN
    list is what their planners index best.
    """
    table = PhotoHash.__tablename__
    if dialect == "sqlite":
        newer = f" AND h.photo_id < {int(before_id)}" if before_id is not None else ""
        sql = " UNION ALL ".join(f"SELECT h.photo_id, h.hash FROM json_each(?) AS p CROSS JOIN {table} AS h "
                                 f"ON h.band{i} = p.value{newer}" for i in range(len(probes)))
        return sql, tuple(f"[{','.join(map(str, values))}]" for values in probes)
    newer = f" AND photo_id < {int(before_id)}" if before_id is not None else ""
    lists = [",".join(map(str, values)) for values in probes]
    sql = " UNION ALL ".join(f"SELECT photo_id, hash FROM {table} WHERE band{i} IN ({values}){newer}"
                             for i, values in enumerate(lists))
    return sql, ()


@functools.cache
def _ball_masks() -> tuple[np.ndarray, ...]:
    """Per band, the XOR masks of weight <= 2: the radius-2 ball around 0."""
    return tuple(np.array(sorted(ball), dtype=np.int64) for ball in fp.band_probes(0))


def _band_probes(query_hashes) -> list[list[int]]:
    """Per band, every value within distance 2 of that band of any query hash (vectorised: a real
    photo queries ~20 hashes, i.e. ~14,000 probe values)."""
    bands = np.array([fp.bands(q) for q in query_hashes], dtype=np.int64)
    return [np.unique(bands[:, i, None] ^ masks[None, :]).tolist() for i, masks in enumerate(_ball_masks())]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def open_photo_for_owner(user_id: int, photo_id: int):
    """The stored image, only for its owner: anyone else gets the same 404 as for a photo that never was."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.user_id != user_id or photo.storage_key is None:
        raise NotFound()
    return storage().open(photo.storage_key), photo.content_type


def sweep_orphans(min_age_seconds: float = 3600, batch: int = 500) -> int:
    """Delete stored files that no photo row owns (left by a crash between write and commit).

    Works through the store's listing a batch at a time, one query per batch, so a bucket of
    millions of photos never sits in memory at once.
    """
    store = storage()
    removed = 0
    listing = iter(store.keys_older_than(min_age_seconds))
    while keys := list(itertools.islice(listing, batch)):
        owned = set(db.session.scalars(select(Photo.storage_key).where(Photo.storage_key.in_(keys))))
        for key in keys:
            if key not in owned:
                store.delete(key)
                removed += 1
    return removed
