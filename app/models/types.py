"""Column types that keep money-like values exact and times in UTC on every supported database."""

from __future__ import annotations

from datetime import datetime, UTC
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# 64-bit keys everywhere; SQLite only auto-increments a column declared exactly INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class FixedDecimal(sa.types.TypeDecorator):
    """A Decimal with a fixed number of places, stored as an integer count of minor units.

    SQLAlchemy's Numeric round-trips through float on SQLite; an integer never does, and sums stay exact.
    A value with more places than the column holds is refused rather than silently rounded.
    """

    impl = sa.BigInteger
    cache_ok = True

    def __init__(self, places: int):
        super().__init__()
        self.places = places
        self._unit = Decimal(1).scaleb(-places)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        minor = value.scaleb(self.places)
        if minor != minor.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(minor)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places).quantize(self._unit)

    def coerce_compared_value(self, op, value):
        return self


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
