"""Figures for the public dashboard (公众减排看板) and the operators' overview of today and this month."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, LedgerEntry, LedgerReason, Photo, Record, RecordStatus
from app.services import clock
from app.services.records import RECORD_KINDS

SERIES_DAYS = 30
ZERO_G = Decimal("0.00")
ZERO_POINTS = Decimal("0.0")


@dataclass(frozen=True)
class KindTotal:
    kind: str
    co2_g: Decimal
    records: int


@dataclass(frozen=True)
class DayTotal:
    day: date
    co2_g: Decimal


@dataclass(frozen=True)
class PublicStats:
    co2_g_total: Decimal
    co2_g_today: Decimal
    participants: int
    by_kind: list[KindTotal]
    series: list[DayTotal]  # the last SERIES_DAYS local days, oldest first, today last
    generated_at: datetime


def compute_public_stats(now: datetime | None = None) -> PublicStats:
    """CO2 of credited records, by the local day each behaviour belongs to: three aggregate queries."""
    now = now or clock.now()
    today = clock.local_day(now)
    first = today - timedelta(days=SERIES_DAYS - 1)
    credited = Record.status == RecordStatus.CREDITED
    kinds = {kind: (co2 or ZERO_G, count) for kind, co2, count in db.session.execute(
        select(Record.kind, func.sum(Record.co2_g), func.count(Record.id)).where(credited).group_by(Record.kind))}
    participants = db.session.scalar(select(func.count(func.distinct(Record.user_id))).where(credited)) or 0
    days = dict(db.session.execute(
        select(Record.day, func.sum(Record.co2_g))
        .where(credited, Record.day >= first, Record.day <= today).group_by(Record.day)).all())
    known = list(RECORD_KINDS) + sorted(set(kinds) - set(RECORD_KINDS))
    by_kind = [KindTotal(k, kinds.get(k, (ZERO_G, 0))[0], kinds.get(k, (ZERO_G, 0))[1]) for k in known]
    series = [DayTotal(first + timedelta(days=i), days.get(first + timedelta(days=i)) or ZERO_G)
              for i in range(SERIES_DAYS)]
    return PublicStats(co2_g_total=sum((k.co2_g for k in by_kind), ZERO_G), co2_g_today=series[-1].co2_g,
                       participants=participants, by_kind=by_kind, series=series, generated_at=now)


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: PublicStats | None = None
    computed_at: float = 0.0

    def fresh(self, seconds: int) -> bool:
        return self.value is not None and time.monotonic() < self.computed_at + seconds


def public_stats() -> PublicStats:
    """The public figures, computed at most once per STATS_CACHE_SECONDS in this worker.

    Why in-process and not Redis: the page is public and may be refreshed by a whole city, but the figures
    are three aggregate queries that every worker can afford once every 30 s — with 8 workers that is
    under 16 computations a minute whatever the traffic, and a figure 30 s old is "real time" for a
    dashboard. Sharing the result through Redis would save those few queries at the cost of a network
    hop on every request. Concurrent requests on an expired entry wait for one computation (single
    flight) instead of all querying at once. The responses also carry Cache-Control so that nginx or a
    CDN in front can absorb the traffic.
    """
    seconds = current_app.config["STATS_CACHE_SECONDS"]
    cache: _Cache = current_app.extensions.setdefault("public_stats_cache", _Cache())
    if cache.fresh(seconds):
        return cache.value
    with cache.lock:
        if not cache.fresh(seconds):
            cache.value, cache.computed_at = compute_public_stats(), time.monotonic()
        return cache.value


def clear_public_stats_cache() -> None:
    current_app.extensions.pop("public_stats_cache", None)


# -- the operators' overview (not cached: a handful of staff, and they want it live) --

@dataclass(frozen=True)
class RecordCount:
    kind: str
    status: str
    records: int
    co2_g: Decimal


@dataclass(frozen=True)
class PointsFlow:
    issued: Decimal  # earned: record credits and activity attendance
    spent: Decimal  # redemptions, less the ones cancelled


@dataclass(frozen=True)
class OperationsSummary:
    day: date
    pending: int
    suspected: int
    records_today: list[RecordCount]
    points_today: PointsFlow
    points_month: PointsFlow
    upcoming_activities: int

    @property
    def records_today_total(self) -> int:
        return sum(r.records for r in self.records_today)


def _month_bounds(day: date) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return clock.day_bounds(first)[0], clock.day_bounds(following)[0]


def points_flow(start: datetime, end: datetime) -> PointsFlow:
    sums = dict(db.session.execute(
        select(LedgerEntry.reason, func.sum(LedgerEntry.points))
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .group_by(LedgerEntry.reason)).all())
    issued = sum((sums.get(r) or ZERO_POINTS for r in LedgerReason.EARNINGS), ZERO_POINTS)
    spent = -sum((sums.get(r) or ZERO_POINTS for r in (LedgerReason.REDEMPTION, LedgerReason.REDEMPTION_CANCEL)),
                 ZERO_POINTS)
    return PointsFlow(issued=issued, spent=spent + ZERO_POINTS)


def operations_summary(now: datetime | None = None) -> OperationsSummary:
    now = now or clock.now()
    today = clock.local_day(now)
    day_start, day_end = clock.day_bounds(today)
    pending, suspected = db.session.execute(
        select(func.count(Record.id), func.count(Photo.suspected_original_id))
        .join(Photo, Photo.record_id == Record.id).where(Record.status == RecordStatus.PENDING)).one()
    rows = db.session.execute(
        select(Record.kind, Record.status, func.count(Record.id), func.sum(Record.co2_g))
        .where(Record.created_at >= day_start, Record.created_at < day_end)
        .group_by(Record.kind, Record.status)).all()
    order = {kind: i for i, kind in enumerate(RECORD_KINDS)}
    records_today = sorted((RecordCount(kind, status, count, co2 or ZERO_G) for kind, status, count, co2 in rows),
                           key=lambda r: (order.get(r.kind, 99), r.kind, r.status))
    upcoming = db.session.scalar(select(func.count(Activity.id)).where(
        Activity.cancelled_at.is_(None), Activity.ends_at > now)) or 0
    return OperationsSummary(day=today, pending=pending, suspected=suspected, records_today=records_today,
                             points_today=points_flow(day_start, day_end),
                             points_month=points_flow(*_month_bounds(today)), upcoming_activities=upcoming)
