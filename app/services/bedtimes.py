"""规范就寝: lights out before 23:00, recorded the next day for last night only."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from app.database import write_transaction
from app.errors import InvalidNight, ValidationFailed
from app.extensions import db
from app.models import Record, RecordStatus
from app.services import accounting, clock, ledger

LIGHTS_OUT_MINUTE = 23 * 60
MAX_EARLY_MINUTES = 180
# Times from noon to 22:59 are "before 23:00" that evening; 23:00 to 11:59 are at or after it
# (00:xx is after midnight, so late). Nobody records an 11:00 bedtime for the night before.
EVENING_STARTS_MINUTE = 12 * 60

_NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_night(value: object) -> date:
    if not isinstance(value, str) or not _NIGHT.match(value):
        raise ValidationFailed(details={"field": "night", "problem": "expected YYYY-MM-DD"})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(details={"field": "night", "problem": "not a calendar date"}) from None


def parse_bedtime(value: object) -> int:
    """Minutes after midnight of an "HH:MM" bedtime."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match:
        raise ValidationFailed(details={"field": "bedtime", "problem": "expected HH:MM, 00:00–23:59"})
    return int(match.group(1)) * 60 + int(match.group(2))


def minutes_before_lights_out(bedtime_minute: int) -> int:
    """Minutes credited: before 23:00 pro rata, at most 3 hours; at or after 23:00, none."""
    if EVENING_STARTS_MINUTE <= bedtime_minute < LIGHTS_OUT_MINUTE:
        return min(LIGHTS_OUT_MINUTE - bedtime_minute, MAX_EARLY_MINUTES)
    return 0


def record_bedtime(user_id: int, night_value: object, bedtime_value: object,
                   now: datetime | None = None) -> Record:
    night = parse_night(night_value)
    bedtime_minute = parse_bedtime(bedtime_value)
    now = now or clock.now()
    last_night = clock.local_day(now) - timedelta(days=1)
    if night != last_night:
        raise InvalidNight(details={"night": night.isoformat(), "expected": last_night.isoformat()})
    minutes = minutes_before_lights_out(bedtime_minute)
    credit = accounting.credit_for("bedtime", None, Fraction(minutes, 60), now)
    with write_transaction():
        record = Record(
            user_id=user_id, kind="bedtime", subtype=None, status=RecordStatus.PENDING,
            quantity=Decimal(minutes), unit="minute", co2_g=credit.co2_g, points=credit.points,
            factor_id=credit.factor.id, day=night, dedup_key=f"bedtime:{night.isoformat()}",
            data={"night": night.isoformat(), "bedtime": bedtime_value, "minutes_early": minutes},
            created_at=now,
        )
        db.session.add(record)
        db.session.flush()  # one per night: the unique (user_id, dedup_key) answers 409 here
        ledger.credit_record(record)
    return record
