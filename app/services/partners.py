"""Data partners (合作方): their credentials, signed requests, the users' bindings and the events they push.

Signing (documented for partners; tests/partner/client.py is a working client):
    string_to_sign = "PARTNER-HMAC-SHA256\n" + METHOD + "\n" + path_with_query + "\n" + timestamp + "\n"
                     + nonce + "\n" + hex(sha256(body))
    X-Partner-Signature = hex(HMAC-SHA256(secret, string_to_sign))
with the headers X-Partner-Key (key id), X-Partner-Timestamp (Unix seconds), X-Partner-Nonce (16–64 of
A-Z a-z 0-9 _ -, single use) and X-Partner-Signature. A timestamp more than the replay window (300 s)
away from the server's clock is stale; a nonce seen within the window is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.database import write_transaction
from app.errors import (
    DailyLimitReached, DomainError, DuplicateRecord, IdempotencyConflict, NotFound, Unauthorized, ValidationFailed,
)
from app.extensions import db
from app.models import Account, AuditEntry, LedgerReason, Record, RecordStatus, Trip, User
from app.models.partners import (
    Partner, PartnerBinding, PartnerEvent, PartnerEventStatus, PartnerNonce, PartnerStatus,
)
from app.services import accounting, clock, ledger, photos, trips

SCHEME = "PARTNER-HMAC-SHA256"
HEADERS = ("X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature")
KINDS = ("travel", "recycling", "sorting", "meal")
EVENT_ID = re.compile(r"[\x21-\x7e]{1,64}")
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_DISTANCE_KM = Decimal("300")
MAX_SORTING_COUNT = 10
MAX_ROUTE_POINTS = 5000
# Partners deliver late (batches, outages), but not forever: older events are refused.
MAX_EVENT_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)
# No vehicle a partner reports averages more than this; a faster "trip" is a data error.
MAX_SPEED_KMH = Decimal("150")


class InvalidSignature(Unauthorized):
    code, message = "invalid_signature", "请求签名无效"


class StaleTimestamp(Unauthorized):
    code, message = "stale_timestamp", "请求时间戳超出允许范围"


class NonceReused(Unauthorized):
    # 401, not 409: a replayed request is simply not authenticated; the cure is to sign a new one.
    code, message = "nonce_reused", "该 nonce 已被使用"


class PartnerSuspended(DomainError):
    status, code, message = 403, "partner_suspended", "该合作方已被暂停"


class KindNotAllowed(DomainError):
    status, code, message = 403, "kind_not_allowed", "该合作方无权上报此类行为"


class UnknownBinding(DomainError):
    status, code, message = 422, "unknown_binding", "用户绑定不存在或已解除"


# --- credentials -------------------------------------------------------------------------------------

def partner_secret(partner: Partner) -> str:
    """The partner's signing secret, derived, never stored: HMAC(SECRET_KEY, key id + per-partner salt).

    Why derived rather than stored: HMAC verification needs the secret itself (a one-way hash, as for
    tokens, cannot verify a signature), and a stored secret, even encrypted, needs a second key kept
    somewhere anyway. Deriving it means a copy of the database alone (a backup, a leak) signs nothing;
    a new salt rotates one partner's secret. The price: rotating SECRET_KEY rotates every partner's
    secret too, so the admin must hand out new ones (the page's "rotate" does that per partner).
    """
    message = f"partner-secret:v1:{partner.key_id}:{partner.secret_salt}".encode()
    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).digest()
    return "ps_" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def create_partner(name: str, kinds: list[str], staff_id: int | None) -> tuple[Partner, str]:
    """A new partner and its secret; the secret is returned this once and can only be rotated later."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("名称须为 1–100 个字符", details={"field": "name"})
    kinds = [k for k in KINDS if k in set(kinds or ())]
    if not kinds:
        raise ValidationFailed("至少选择一种行为", details={"field": "kinds", "allowed": list(KINDS)})
    with write_transaction():
        if db.session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
            raise DuplicateRecord("已有同名合作方（密钥只显示一次；如需新密钥请更换密钥）", details={"field": "name"})
        partner = Partner(name=name, kinds=kinds, key_id="pk_" + secrets.token_hex(12),
                          secret_salt=secrets.token_hex(16), status=PartnerStatus.ACTIVE, created_by=staff_id)
        db.session.add(partner)
        db.session.flush()
        _audit(staff_id, "partner_create", partner)
    return partner, partner_secret(partner)


def rotate_secret(partner_id: int, staff_id: int | None) -> tuple[Partner, str]:
    with write_transaction():
        partner = get_partner(partner_id)
        partner.secret_salt = secrets.token_hex(16)
        _audit(staff_id, "partner_rotate", partner)
    return partner, partner_secret(partner)


def set_suspended(partner_id: int, suspended: bool, staff_id: int | None) -> Partner:
    """Suspend (every request refused with 403 partner_suspended) or resume a partner."""
    with write_transaction():
        partner = get_partner(partner_id)
        partner.status = PartnerStatus.SUSPENDED if suspended else PartnerStatus.ACTIVE
        partner.suspended_at = clock.now() if suspended else None
        _audit(staff_id, "partner_suspend" if suspended else "partner_resume", partner)
    return partner


def _audit(staff_id: int | None, action: str, partner: Partner) -> None:
    db.session.add(AuditEntry(staff_id=staff_id, action=action,
                              details={"partner_id": partner.id, "name": partner.name, "key_id": partner.key_id}))


def get_partner(partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound()
    return partner


def all_partners() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.id)))


def event_counts() -> dict[int, dict[str, int]]:
    """Per partner: how many events were accepted and refused (the admin's list)."""
    counts: dict[int, dict[str, int]] = {}
    for partner_id, status, count in db.session.execute(
            select(PartnerEvent.partner_id, PartnerEvent.status, func.count())
            .group_by(PartnerEvent.partner_id, PartnerEvent.status)):
        counts.setdefault(partner_id, {})[status] = count
    return counts


def event_page(partner_id: int, limit: int = 50, before_id: int | None = None,
               status: str | None = None) -> list[PartnerEvent]:
    query = select(PartnerEvent).where(PartnerEvent.partner_id == partner_id)
    if before_id is not None:
        query = query.where(PartnerEvent.id < before_id)
    if status is not None:
        query = query.where(PartnerEvent.status == status)
    return list(db.session.scalars(query.order_by(PartnerEvent.id.desc()).limit(limit)))


# --- signed requests ---------------------------------------------------------------------------------

def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), string_to_sign(method, path, timestamp, nonce, body).encode(),
                    hashlib.sha256).hexdigest()


def replay_window() -> timedelta:
    return timedelta(seconds=current_app.config.get("PARTNER_REPLAY_WINDOW_SECONDS", 300))


def authenticate(method: str, path: str, headers: Mapping[str, str], body: bytes,
                 now: datetime | None = None) -> Partner:
    """The partner a signed request comes from, its nonce now spent; refusals by a known key are logged."""
    now = now or clock.now()
    missing = [h for h in HEADERS if not headers.get(h)]
    if missing:
        raise InvalidSignature("缺少签名请求头", details={"missing_headers": missing})
    partner = db.session.scalar(select(Partner).where(Partner.key_id == headers["X-Partner-Key"]))
    if partner is None:
        raise InvalidSignature()  # the same answer as a wrong signature: key ids are not probed
    timestamp, nonce = headers["X-Partner-Timestamp"], headers["X-Partner-Nonce"]
    expected = sign(partner_secret(partner), method, path, timestamp, nonce, body)
    try:
        if not hmac.compare_digest(expected, headers["X-Partner-Signature"].strip().lower()):
            raise InvalidSignature()
        if not timestamp.isdigit():
            raise StaleTimestamp(details={"problem": "X-Partner-Timestamp must be Unix seconds"})
        signed_at = datetime.fromtimestamp(int(timestamp), UTC) if len(timestamp) <= 12 else None
        if signed_at is None or abs(now - signed_at) > replay_window():
            raise StaleTimestamp(details={"server_time": int(now.timestamp()),
                                          "window_seconds": int(replay_window().total_seconds())})
        if not NONCE.fullmatch(nonce):
            raise InvalidSignature(details={"problem": "X-Partner-Nonce must be 16-64 of A-Z a-z 0-9 _ -"})
        if partner.status != PartnerStatus.ACTIVE:
            raise PartnerSuspended()
        _spend_nonce(partner.id, nonce, signed_at, now)
    except DomainError as exc:
        log_refusal(partner.id, exc)
        raise
    return partner


def _spend_nonce(partner_id: int, nonce: str, signed_at: datetime, now: datetime) -> None:
    """Keep the nonce until its request's timestamp leaves the window; the key makes reuse impossible."""
    try:
        with write_transaction():
            db.session.execute(delete(PartnerNonce).where(PartnerNonce.partner_id == partner_id,
                                                          PartnerNonce.expires_at < now))
            db.session.add(PartnerNonce(partner_id=partner_id, nonce=nonce, expires_at=signed_at + replay_window()))
    except DuplicateRecord:
        raise NonceReused() from None


def log_refusal(partner_id: int, exc: DomainError, event: dict | None = None,
                binding_id: int | None = None) -> None:
    """Keep a refused request in the audit trail, with what it carried (never a route) and why."""
    event = event if isinstance(event, dict) else {}
    event_id = event.get("event_id")
    with write_transaction():
        db.session.add(PartnerEvent(
            partner_id=partner_id, event_id=event_id[:64] if isinstance(event_id, str) else None,
            binding_id=binding_id, kind=_short(event.get("kind")), subtype=_short(event.get("subtype")),
            payload=_audit_payload(event) or None, status=PartnerEventStatus.REFUSED,
            error_code=exc.code, error_message=exc.message[:255]))


def _short(value: object) -> str | None:
    return value[:16] if isinstance(value, str) else None


def _audit_payload(event: dict) -> dict:
    kept = {k: v for k, v in event.items() if k != "route" and isinstance(v, (str, int, float, bool, type(None)))}
    if isinstance(event.get("route"), list):
        kept["route_points"] = len(event["route"])
    return kept


# --- bindings (the user's side) ----------------------------------------------------------------------

def active_partners() -> list[Partner]:
    return list(db.session.scalars(select(Partner).where(Partner.status == PartnerStatus.ACTIVE)
                                   .order_by(Partner.id)))


def bind(user_id: int, partner_id: object) -> tuple[PartnerBinding, bool]:
    """The user approves a partner: (binding, created). An active binding is returned, not doubled."""
    if not isinstance(partner_id, int) or isinstance(partner_id, bool):
        raise ValidationFailed(details={"field": "partner_id", "problem": "expected integer"})
    with write_transaction():
        partner = db.session.get(Partner, partner_id)
        if partner is None:
            raise NotFound("合作方不存在")
        if partner.status != PartnerStatus.ACTIVE:
            raise PartnerSuspended()
        trips.lock_user(user_id)  # one user's two taps cannot make two bindings
        existing = db.session.scalar(select(PartnerBinding).where(
            PartnerBinding.user_id == user_id, PartnerBinding.partner_id == partner_id,
            PartnerBinding.revoked_at.is_(None)))
        if existing is not None:
            return existing, False
        binding = PartnerBinding(public_id="pb_" + secrets.token_urlsafe(24), partner_id=partner_id,
                                 user_id=user_id)
        db.session.add(binding)
        db.session.flush()
    return binding, True


def user_bindings(user_id: int) -> list[PartnerBinding]:
    return list(db.session.scalars(
        select(PartnerBinding).where(PartnerBinding.user_id == user_id, PartnerBinding.revoked_at.is_(None))
        .order_by(PartnerBinding.id.desc())))


def revoke(user_id: int, public_id: str) -> None:
    """Withdraw the approval: the partner's later events for this binding are refused."""
    with write_transaction():
        binding = db.session.scalar(select(PartnerBinding).where(
            PartnerBinding.public_id == public_id, PartnerBinding.user_id == user_id))
        if binding is None:
            raise NotFound()
        if binding.revoked_at is None:
            binding.revoked_at = clock.now()


def forget_user(user_id: int) -> None:
    """Account deletion: every binding is revoked and the events reported under them lose their
    payload (a route is location data); the events themselves stay for the partner's audit trail."""
    bindings = select(PartnerBinding.id).where(PartnerBinding.user_id == user_id)
    db.session.execute(update(PartnerEvent).where(PartnerEvent.binding_id.in_(bindings))
                       .values(payload=None).execution_options(synchronize_session=False))
    db.session.execute(update(PartnerBinding).where(PartnerBinding.user_id == user_id,
                                                    PartnerBinding.revoked_at.is_(None))
                       .values(revoked_at=clock.now()).execution_options(synchronize_session=False))


def export_bindings(user_id: int) -> list[dict]:
    """The user's bindings, revoked ones too, for the PIPL export."""
    return [{"id": b.public_id, "partner": b.partner.name, "created_at": b.created_at, "revoked_at": b.revoked_at}
            for b in db.session.scalars(select(PartnerBinding).where(PartnerBinding.user_id == user_id)
                                        .order_by(PartnerBinding.id))]


# --- events ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Activity:
    """A partner event, validated: what happened, how much, and when."""

    event_id: str
    binding_id: str
    kind: str
    subtype: str | None
    quantity: Decimal
    unit: str
    day: object
    started_at: datetime | None = None
    ended_at: datetime | None = None
    route: list | None = None
    data: dict | None = None
    dedup_key: str | None = None


def receive_event(partner: Partner, body: object, now: datetime | None = None) -> tuple[PartnerEvent, bool]:
    """Credit one partner event once: (event, replayed). The same event id again answers the same.

    Copies racing in at once queue on the user's account row; the first inserts its accepted event,
    the next ones meet the unique (partner, accepted event id) and answer with the first's result.
    """
    now = now or clock.now()
    try:
        activity = parse_event(body, now)
    except DomainError as exc:
        log_refusal(partner.id, exc, body if isinstance(body, dict) else None)
        raise
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    stored = _accepted(partner.id, activity.event_id)
    if stored is not None:
        return _replay(stored, digest, body)
    binding_row_id = None
    try:
        with write_transaction():
            binding = _active_binding(partner, activity.binding_id)
            binding_row_id = binding.id
            if activity.kind not in partner.kinds:
                raise KindNotAllowed(details={"kind": activity.kind, "allowed": partner.kinds})
            trips.lock_user(binding.user_id)
            event = PartnerEvent(partner_id=partner.id, event_id=activity.event_id,
                                 accepted_event_id=activity.event_id, binding_id=binding.id, kind=activity.kind,
                                 subtype=activity.subtype, payload=_audit_payload(body), payload_sha256=digest,
                                 status=PartnerEventStatus.ACCEPTED, received_at=now)
            db.session.add(event)
            db.session.flush()
            record, superseded = _credit(partner, binding.user_id, activity, now)
            event.record_id, event.superseded_record_id = record.id, superseded
    except DuplicateRecord as exc:
        stored = _accepted(partner.id, activity.event_id)
        if stored is not None:
            return _replay(stored, digest, body)
        log_refusal(partner.id, exc, body, binding_row_id)
        raise
    except DomainError as exc:
        log_refusal(partner.id, exc, body, binding_row_id)
        raise
    return event, False


def _accepted(partner_id: int, event_id: str) -> PartnerEvent | None:
    return db.session.scalar(select(PartnerEvent).where(PartnerEvent.partner_id == partner_id,
                                                        PartnerEvent.accepted_event_id == event_id))


def _replay(stored: PartnerEvent, digest: str, body: dict) -> tuple[PartnerEvent, bool]:
    if stored.payload_sha256 != digest:
        exc = IdempotencyConflict("该 event_id 已用于另一事件", details={"event_id": stored.event_id})
        log_refusal(stored.partner_id, exc, body, stored.binding_id)
        raise exc
    return stored, True


def _active_binding(partner: Partner, public_id: str) -> PartnerBinding:
    binding = db.session.scalar(
        select(PartnerBinding).join(User, User.id == PartnerBinding.user_id)
        .where(PartnerBinding.public_id == public_id, PartnerBinding.partner_id == partner.id,
               User.deleted_at.is_(None)))
    if binding is None:
        raise UnknownBinding(details={"binding_id": public_id})
    if binding.revoked_at is not None:
        raise UnknownBinding("用户已解除绑定", details={"binding_id": public_id, "reason": "revoked"})
    return binding


def _credit(partner: Partner, user_id: int, activity: Activity, now: datetime) -> tuple[Record, int | None]:
    """The verified record and its credit, within the day's caps; a GPS trip it repeats is reversed."""
    superseded: list[Record] = []
    data = dict(activity.data or {})
    if activity.kind == "travel":
        superseded = trips.supersede_gps_trips(user_id, activity.started_at, activity.ended_at)
        if superseded:
            data["superseded_record_ids"] = [r.id for r in superseded]
        quantity = trips.credit_within_daily_cap(user_id, activity.subtype, activity.day, activity.quantity)
        if quantity < activity.quantity:
            data["daily_cap_applied"] = True
    else:
        quantity = _within_daily_cap(user_id, activity)
    credit = accounting.credit_for(activity.kind, activity.subtype, quantity, now)
    record = Record(user_id=user_id, kind=activity.kind, subtype=activity.subtype, status=RecordStatus.PENDING,
                    quantity=quantity, unit=activity.unit, co2_g=credit.co2_g, points=credit.points,
                    factor_id=credit.factor.id, day=activity.day, dedup_key=activity.dedup_key,
                    data={**data, "partner_event_id": activity.event_id}, created_at=now,
                    source=f"partner:{partner.id}", verified=True)
    db.session.add(record)
    db.session.flush()  # a meal slot already taken answers 409 duplicate_record here
    if activity.kind == "travel":
        db.session.add(Trip(
            record_id=record.id, user_id=user_id, mode=activity.subtype, distance_km=activity.quantity,
            started_at=activity.started_at, ended_at=activity.ended_at, point_count=len(activity.route or ()),
            track=activity.route, shape=None, start_cell="", end_cell="",
            track_digest=hashlib.sha256(f"partner:{partner.id}:{activity.event_id}".encode()).hexdigest()))
        db.session.flush()
    ledger.credit_record(record)
    for gps in superseded:
        _reverse_credit(gps, record)
    return record, superseded[0].id if superseded else None


def _reverse_credit(gps: Record, verified: Record) -> None:
    """Take back the superseded GPS credit, after the verified one is booked so the balance covers it.

    Points the user already spent cannot be taken back without a negative balance: what is missing
    is noted on the record (the ledger stays the truth) rather than refusing the verified event.
    """
    balance = db.session.scalar(select(Account.balance_points).where(Account.user_id == gps.user_id))
    points = min(gps.points, balance)
    if points < gps.points:
        gps.data = {**(gps.data or {}), "unrecovered_points": str(gps.points - points)}
    if points > 0 or gps.co2_g > 0:
        # Out of the boards' week, month and year the GPS trip was credited in (at once, when sent).
        ledger.post_entry(gps.user_id, -points, LedgerReason.RECORD_REVERSAL, record_id=gps.id, co2_g=-gps.co2_g,
                          earned_at=gps.created_at)
    gps.data = {**(gps.data or {}), "superseded_by_record_id": verified.id}
    db.session.flush()


def _within_daily_cap(user_id: int, activity: Activity) -> Decimal:
    """The photo behaviours' daily caps hold for partner reports too (counted together)."""
    cap = current_app.config["PHOTO_DAILY_CAP"].get(activity.kind)
    if cap is None:
        return activity.quantity
    today = (Record.user_id == user_id, Record.kind == activity.kind, Record.day == activity.day,
             Record.status != RecordStatus.REJECTED)
    if activity.kind == "sorting":  # a count: credit what is left of the day's cap
        remaining = Decimal(cap) - (db.session.scalar(select(func.sum(Record.quantity)).where(*today)) or 0)
    else:  # a weighing: whole, while the day has records left
        left = cap - db.session.scalar(select(func.count(Record.id)).where(*today))
        remaining = activity.quantity if left > 0 else Decimal(0)
    if remaining <= 0:
        raise DailyLimitReached(details={"kind": activity.kind, "day": activity.day.isoformat(), "cap": cap})
    return min(activity.quantity, remaining)


# --- event validation --------------------------------------------------------------------------------

_COMMON = {"event_id", "binding_id", "kind", "subtype"}
_FIELDS = {
    "travel": {"distance_km", "started_at", "ended_at", "route"},
    "recycling": {"weight_kg", "occurred_at"},
    "sorting": {"count", "occurred_at"},
    "meal": {"meal", "occurred_at"},
}
_SUBTYPES = {"travel": trips.MODES, "recycling": photos.MATERIALS, "sorting": ("kitchen",), "meal": (None,)}


def parse_event(body: object, now: datetime) -> Activity:
    if not isinstance(body, dict):
        raise ValidationFailed("请求体须为 JSON 对象")
    event_id, binding_id, kind, subtype = (body.get(k) for k in ("event_id", "binding_id", "kind", "subtype"))
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        raise ValidationFailed(details={"field": "event_id", "problem": "1-64 visible ASCII characters"})
    if not isinstance(binding_id, str) or not 1 <= len(binding_id) <= 64:
        raise ValidationFailed(details={"field": "binding_id", "problem": "required string"})
    if kind not in KINDS:
        raise ValidationFailed(details={"field": "kind", "allowed": list(KINDS)})
    if subtype not in _SUBTYPES[kind]:
        raise ValidationFailed(details={"field": "subtype", "allowed": list(_SUBTYPES[kind])})
    unknown = sorted(set(body) - _COMMON - _FIELDS[kind])
    if unknown:
        raise ValidationFailed(details={"unknown_fields": unknown})
    base = {"event_id": event_id, "binding_id": binding_id, "kind": kind, "subtype": subtype}
    if kind == "travel":
        started, ended = _moment(body, "started_at", now), _moment(body, "ended_at", now)
        if ended <= started:
            raise ValidationFailed(details={"field": "ended_at", "problem": "must be after started_at"})
        distance = _decimal(body, "distance_km", MAX_DISTANCE_KM)
        hours = Decimal((ended - started).total_seconds()) / 3600
        if distance / hours > MAX_SPEED_KMH:
            raise ValidationFailed(details={"field": "distance_km", "problem": "faster than any vehicle"})
        return Activity(**base, quantity=distance, unit="km", day=clock.local_day(started), started_at=started,
                        ended_at=ended, route=_route(body.get("route")))
    occurred = _moment(body, "occurred_at", now)
    day = clock.local_day(occurred)
    if kind == "recycling":
        weight = photos.parse_weight(body.get("weight_kg"))
        return Activity(**base, quantity=weight, unit="kg", day=day, data={"weight_kg": str(weight)})
    if kind == "sorting":
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SORTING_COUNT:
            raise ValidationFailed(details={"field": "count", "problem": f"an integer 1-{MAX_SORTING_COUNT}"})
        return Activity(**base, quantity=Decimal(count), unit="time", day=day)
    meal = body.get("meal")
    if meal not in photos.MEALS:
        raise ValidationFailed(details={"field": "meal", "allowed": list(photos.MEALS)})
    return Activity(**base, quantity=Decimal(1), unit="serving", day=day,
                    data={"meal": meal, "date": day.isoformat()}, dedup_key=f"meal:{day.isoformat()}:{meal}")


def _moment(body: dict, field: str, now: datetime) -> datetime:
    value = body.get(field)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationFailed(details={"field": field, "problem": "ISO 8601 time with offset"})
    if moment > now + CLOCK_SKEW or moment < now - MAX_EVENT_AGE:
        raise ValidationFailed(details={"field": field, "problem": "not in the future, at most 7 days old"})
    return moment.astimezone(UTC)


def _decimal(body: dict, field: str, maximum: Decimal) -> Decimal:
    value = body.get(field)
    try:
        number = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 0 < number <= maximum or number != number.quantize(
            Decimal("0.001")):
        raise ValidationFailed(details={"field": field, "problem": f"a number, 0 < x ≤ {maximum}, 3 decimals"})
    return number.quantize(Decimal("0.001"))


def _route(value: object) -> list | None:
    """An optional route, [{"lat", "lng"}, ...]: kept with the trip (for disputes) like a GPS track."""
    if value is None:
        return None
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_ROUTE_POINTS:
        raise ValidationFailed(details={"field": "route", "problem": f"2-{MAX_ROUTE_POINTS} points"})
    route = []
    for point in value:
        lat, lng = (point.get("lat"), point.get("lng")) if isinstance(point, dict) else (None, None)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lng)) \
                or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValidationFailed(details={"field": "route", "problem": "points are {lat, lng} in degrees"})
        route.append({"lat": lat, "lng": lng})
    return route


def binding_count(partner_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(PartnerBinding).where(
        PartnerBinding.partner_id == partner_id, PartnerBinding.revoked_at.is_(None))) or 0

