"""The users' calendar: local days in APP_TIMEZONE (Asia/Shanghai), never UTC days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC
from zoneinfo import ZoneInfo

from flask import current_app


def app_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


def now() -> datetime:
    return datetime.now(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(app_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a local day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=app_zone())
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=app_zone())
    return start.astimezone(UTC), end.astimezone(UTC)


def year_start(moment: datetime) -> datetime:
    local = moment.astimezone(app_zone())
    return datetime(local.year, 1, 1, tzinfo=app_zone()).astimezone(UTC)
