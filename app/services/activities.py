"""Low-carbon activities (公园清洁, 旧衣捐赠): the nearest upcoming ones, sign-ups within capacity, check-ins
that credit the attendance points once."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update

from app.database import write_transaction
from app.errors import Conflict, DomainError, DuplicateRecord, NotFound, ValidationFailed
from app.extensions import db
from app.models import Activity, ActivitySignup, AuditEntry, LedgerReason, User
from app.services import clock, ledger
from app.services.track_analysis import TrackPoint, haversine_m

# Shown at the event and typed on a phone: no 0/O or 1/I/L to confuse; 32^6 ≈ 10^9 codes, and only
# users signed up for the activity may try one, during the check-in window.
CHECKIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CHECKIN_CODE_LENGTH = 6
CHECKIN_OPENS_BEFORE = timedelta(hours=1)
CHECKIN_CLOSES_AFTER = timedelta(hours=2)
MAX_CAPACITY = 100_000
MAX_POINTS = Decimal(10_000)


class ActivityFull(Conflict):
    code, message = "activity_full", "活动名额已满"


class ActivityClosed(Conflict):
    code, message = "activity_closed", "活动已取消或已开始，不能报名"


class CheckinClosed(Conflict):
    code, message = "checkin_closed", "现在不在签到时间内"


class AlreadyCheckedIn(Conflict):
    code, message = "already_checked_in", "已签到，不能取消报名"


class InvalidCheckinCode(DomainError):
    status, code, message = 422, "invalid_checkin_code", "签到码不正确"


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_CODE_ALPHABET) for _ in range(CHECKIN_CODE_LENGTH))


# -- admin: creating and editing --

@dataclass(frozen=True)
class ActivityInput:
    title: str
    description: str
    lat: float
    lng: float
    address: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    points: Decimal


def _validate(data: ActivityInput) -> None:
    if not data.title.strip() or len(data.title) > 100:
        raise ValidationFailed("标题须为 1–100 个字符", details={"field": "title"})
    if not data.address.strip() or len(data.address) > 255:
        raise ValidationFailed("地址须为 1–255 个字符", details={"field": "address"})
    _check_position(data.lat, data.lng)
    if data.ends_at <= data.starts_at:
        raise ValidationFailed("结束时间须晚于开始时间", details={"field": "ends_at"})
    if not 1 <= data.capacity <= MAX_CAPACITY:
        raise ValidationFailed(f"名额须为 1–{MAX_CAPACITY}", details={"field": "capacity"})
    points = data.points
    if not points.is_finite() or not 0 <= points <= MAX_POINTS or points != points.quantize(Decimal("0.1")):
        raise ValidationFailed("积分须为 0–10000，至多一位小数", details={"field": "points"})


def _check_position(lat: float, lng: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValidationFailed("纬度须在 -90 到 90 之间", details={"field": "lat"})
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        raise ValidationFailed("经度须在 -180 到 180 之间", details={"field": "lng"})


def _audit(staff_id: int | None, action: str, **details) -> None:
    db.session.add(AuditEntry(staff_id=staff_id, action=action, details=details))


def create_activity(data: ActivityInput, staff_id: int | None = None) -> Activity:
    _validate(data)
    with write_transaction():
        activity = Activity(title=data.title.strip(), description=data.description.strip(), lat=data.lat,
                            lng=data.lng, address=data.address.strip(), starts_at=data.starts_at,
                            ends_at=data.ends_at, capacity=data.capacity, signed_up=0,
                            points=data.points.quantize(Decimal("0.1")), checkin_code=new_checkin_code())
        db.session.add(activity)
        db.session.flush()
        _audit(staff_id, "activity_created", activity_id=activity.id)
    return activity


def update_activity(activity_id: int, data: ActivityInput, staff_id: int | None = None) -> Activity:
    """Edit an activity. The capacity may not drop below the sign-ups already taken: checked in the
    same UPDATE, so a sign-up arriving meanwhile can never be squeezed out."""
    _validate(data)
    with write_transaction():
        activity = get_activity(activity_id)
        changed = db.session.execute(
            update(Activity).where(Activity.id == activity_id, Activity.signed_up <= data.capacity)
            .values(title=data.title.strip(), description=data.description.strip(), lat=data.lat, lng=data.lng,
                    address=data.address.strip(), starts_at=data.starts_at, ends_at=data.ends_at,
                    capacity=data.capacity, points=data.points.quantize(Decimal("0.1")))
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            db.session.refresh(activity)
            raise ValidationFailed(f"名额不能少于已报名人数（{activity.signed_up}）", details={"field": "capacity"})
        _audit(staff_id, "activity_updated", activity_id=activity_id)
        db.session.refresh(activity)
    return activity


def cancel_activity(activity_id: int, staff_id: int | None = None) -> Activity:
    with write_transaction():
        activity = get_activity(activity_id)
        if activity.cancelled_at is None:
            activity.cancelled_at = clock.now()
            _audit(staff_id, "activity_cancelled", activity_id=activity_id)
    return activity


def get_activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise NotFound()
    return activity


def admin_activities(page: int, per_page: int = 50):
    query = select(Activity).order_by(Activity.starts_at.desc(), Activity.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def signups_of(activity_id: int) -> list[tuple[ActivitySignup, User]]:
    """Everyone who signed up (cancelled ones too, last), for the admin's check-in list."""
    return list(db.session.execute(
        select(ActivitySignup, User).join(User, User.id == ActivitySignup.user_id)
        .where(ActivitySignup.activity_id == activity_id)
        .order_by(ActivitySignup.cancelled_at.is_not(None), ActivitySignup.id)).all())


# -- users: finding, signing up, cancelling --

@dataclass(frozen=True)
class NearbyActivity:
    activity: Activity
    distance_km: Decimal | None
    joined: bool
    checked_in: bool


def parse_position(lat: str | None, lng: str | None) -> tuple[float, float] | None:
    """?lat=&lng= as decimal degrees: both or neither (then the list is by start time)."""
    if lat is None and lng is None:
        return None
    values = []
    for name, raw in (("lat", lat), ("lng", lng)):
        try:
            values.append(float(raw))
        except (TypeError, ValueError):
            raise ValidationFailed(details={"field": name, "problem": "decimal degrees required"}) from None
    _check_position(*values)
    return values[0], values[1]


def distance_km(lat: float, lng: float, activity: Activity) -> Decimal:
    """Great-circle distance on the mean Earth radius, km rounded half-up to 3 decimals (as trips are)."""
    now = clock.now()
    metres = haversine_m(TrackPoint(lat, lng, now), TrackPoint(activity.lat, activity.lng, now))
    return (Decimal(metres) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def upcoming(user_id: int, position: tuple[float, float] | None, limit: int,
             cursor: str | None) -> tuple[list[NearbyActivity], str | None]:
    """Activities not cancelled and not yet over: nearest first (then soonest), or soonest first
    without a position. Upcoming activities are few (hundreds), so they are ordered here, not in SQL."""
    offset = _decode_offset(cursor)
    rows = db.session.scalars(select(Activity).where(Activity.cancelled_at.is_(None),
                                                     Activity.ends_at > clock.now())).all()
    placed = [(distance_km(*position, a) if position else None, a) for a in rows]
    placed.sort(key=lambda item: ((item[0] or 0), item[1].starts_at, item[1].id))
    page = placed[offset:offset + limit]
    mine = dict(db.session.execute(
        select(ActivitySignup.activity_id, ActivitySignup.checked_in_at)
        .where(ActivitySignup.user_id == user_id, ActivitySignup.cancelled_at.is_(None),
               ActivitySignup.activity_id.in_([a.id for _, a in page]))).all()) if page else {}
    items = [NearbyActivity(a, d, a.id in mine, mine.get(a.id) is not None) for d, a in page]
    next_cursor = _encode_offset(offset + limit) if len(placed) > offset + limit else None
    return items, next_cursor


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        prefix, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if prefix == "o" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(details={"field": "cursor", "problem": "not a cursor this server gave"})


def user_view(user_id: int, activity: Activity) -> NearbyActivity:
    signup = _active_signup(user_id, activity.id)
    return NearbyActivity(activity, None, signup is not None, bool(signup and signup.checked_in_at))


def _active_signup(user_id: int, activity_id: int) -> ActivitySignup | None:
    return db.session.scalar(select(ActivitySignup).where(
        ActivitySignup.activity_id == activity_id, ActivitySignup.user_id == user_id,
        ActivitySignup.cancelled_at.is_(None)))


def sign_up(user_id: int, activity_id: int, now: datetime | None = None) -> tuple[ActivitySignup, Activity]:
    """Take one spot, if one is left, in the same transaction as the sign-up row.

    The spot is taken by a conditional UPDATE (signed_up < capacity), which the database evaluates on
    the latest committed row under its row lock, so capacity holds however many requests race; the
    CHECK constraint backs it up. The activity row is locked before the sign-up row here and on
    cancelling, so concurrent requests cannot deadlock (MariaDB's foreign-key check would otherwise
    share-lock the activity under an insert and then wait to update it). Signing up again after
    cancelling reuses the row (unique per activity and user).
    """
    now = now or clock.now()
    with write_transaction():
        activity = get_activity(activity_id)
        existing = db.session.scalar(select(ActivitySignup).where(ActivitySignup.activity_id == activity_id,
                                                                  ActivitySignup.user_id == user_id))
        if existing is not None and existing.cancelled_at is None:
            raise DuplicateRecord("你已报名该活动", details={"signup_id": existing.id})
        taken = db.session.execute(
            update(Activity)
            .where(Activity.id == activity_id, Activity.signed_up < Activity.capacity,
                   Activity.cancelled_at.is_(None), Activity.starts_at > now)
            .values(signed_up=Activity.signed_up + 1)
            .execution_options(synchronize_session=False)).rowcount
        db.session.refresh(activity)
        if taken != 1:
            if activity.cancelled_at is not None or activity.starts_at <= now:
                raise ActivityClosed()
            raise ActivityFull(details={"capacity": activity.capacity})
        if existing is None:
            signup = ActivitySignup(activity_id=activity_id, user_id=user_id, created_at=now)
            db.session.add(signup)
            db.session.flush()  # a second sign-up of the same user in a race: the unique key says 409
        else:
            reopened = db.session.execute(
                update(ActivitySignup)
                .where(ActivitySignup.id == existing.id, ActivitySignup.cancelled_at.is_not(None))
                .values(cancelled_at=None, created_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if reopened != 1:
                raise DuplicateRecord("你已报名该活动", details={"signup_id": existing.id})
            db.session.refresh(existing)
            signup = existing
    return signup, activity


def cancel_signup(user_id: int, activity_id: int, now: datetime | None = None) -> None:
    """Give the spot back. Not signed up → 404; checked in already → 409 (attendance is final)."""
    now = now or clock.now()
    with write_transaction():
        locked = db.session.scalar(select(Activity.id).where(Activity.id == activity_id).with_for_update())
        if locked is None:
            raise NotFound()
        signup = _active_signup(user_id, activity_id)
        if signup is None:
            raise NotFound("你没有报名该活动")
        if signup.checked_in_at is not None:
            raise AlreadyCheckedIn()
        cancelled = db.session.execute(
            update(ActivitySignup)
            .where(ActivitySignup.id == signup.id, ActivitySignup.cancelled_at.is_(None),
                   ActivitySignup.checked_in_at.is_(None))
            .values(cancelled_at=now).execution_options(synchronize_session=False)).rowcount
        if cancelled != 1:
            raise NotFound("你没有报名该活动")
        db.session.execute(update(Activity).where(Activity.id == activity_id, Activity.signed_up > 0)
                           .values(signed_up=Activity.signed_up - 1).execution_options(synchronize_session=False))


# -- check-in --

@dataclass(frozen=True)
class CheckIn:
    signup: ActivitySignup
    points: Decimal


def checkin_window(activity: Activity) -> tuple[datetime, datetime]:
    return activity.starts_at - CHECKIN_OPENS_BEFORE, activity.ends_at + CHECKIN_CLOSES_AFTER


def check_in_with_code(user_id: int, activity_id: int, code: str, now: datetime | None = None) -> CheckIn:
    """The user types the code shown at the event: signed up, during the window, the right code."""
    now = now or clock.now()
    activity = get_activity(activity_id)
    if activity.cancelled_at is not None:
        raise ActivityClosed("活动已取消")
    signup = _active_signup(user_id, activity_id)
    if signup is None:
        raise NotFound("你没有报名该活动")
    opens, closes = checkin_window(activity)
    if not opens <= now <= closes:
        raise CheckinClosed(details={"opens_at": opens.isoformat(), "closes_at": closes.isoformat()})
    typed = "".join(code.split()).upper()
    if not hmac.compare_digest(typed.encode(), activity.checkin_code.encode()):
        raise InvalidCheckinCode()
    return _check_in(signup.id, activity, now)


def check_in_by_staff(activity_id: int, signup_id: int, staff_id: int, now: datetime | None = None) -> CheckIn:
    """Staff tick an attendee off on the activity page (no code, no window: they saw the person)."""
    now = now or clock.now()
    activity = get_activity(activity_id)
    signup = db.session.get(ActivitySignup, signup_id)
    if signup is None or signup.activity_id != activity_id or signup.cancelled_at is not None:
        raise NotFound("该报名不存在或已取消")
    if activity.cancelled_at is not None:
        raise ActivityClosed("活动已取消")
    with write_transaction():
        result = _check_in(signup_id, activity, now)
        _audit(staff_id, "activity_checkin", activity_id=activity_id, signup_id=signup_id,
               user_id=signup.user_id, points=str(result.points))
    return result


def _check_in(signup_id: int, activity: Activity, now: datetime) -> CheckIn:
    """Mark the sign-up attended and credit the points, once: the conditional UPDATE lets one request
    through, and the ledger's unique (signup_id, reason) refuses a second entry even if two did."""
    with write_transaction():
        done = db.session.execute(
            update(ActivitySignup)
            .where(ActivitySignup.id == signup_id, ActivitySignup.checked_in_at.is_(None),
                   ActivitySignup.cancelled_at.is_(None))
            .values(checked_in_at=now).execution_options(synchronize_session=False)).rowcount
        if done != 1:
            raise DuplicateRecord("已经签到过", details={"signup_id": signup_id})
        signup = db.session.get(ActivitySignup, signup_id)
        db.session.refresh(signup)
        points = activity.points
        if points > 0:
            ledger.post_entry(signup.user_id, points, LedgerReason.ACTIVITY_ATTENDANCE, signup_id=signup_id, at=now)
    return CheckIn(signup=signup, points=points)
