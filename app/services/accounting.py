"""Carbon accounting (IPCC: CO2 avoided = activity data × factor) and the conversion to points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from flask import current_app
from sqlalchemy import bindparam, select

from app.database import Write, as_loaded
from app.errors import ServiceUnavailable
from app.extensions import db
from app.models import EmissionFactor

GRAMS = Decimal("0.01")
POINTS = Decimal("0.1")

# The catalog itself is data: version 1 (the seed's Table 2) is loaded by the first migration.


def co2_grams(grams_per_unit: Decimal, amount: Decimal | Fraction) -> Decimal:
    """Grams avoided for an activity amount in the factor's unit, exact until the final rounding."""
    return round_half_up(Fraction(grams_per_unit) * Fraction(amount), GRAMS)


def points_for(co2_g: Decimal) -> Decimal:
    """points = round_half_up(co2_g × POINTS_PER_GRAM, 1), with co2_g already rounded to 2 places."""
    return round_half_up(Fraction(co2_g) * Fraction(current_app.config["POINTS_PER_GRAM"]), POINTS)


def round_half_up(value: Decimal | Fraction | int, places: Decimal) -> Decimal:
    """Round an exact value half-up (Decimal's default is half-even) to the given places."""
    value = Fraction(value)
    # Scale to an integer number of units with exact half-up on the fraction, so no binary or
    # 28-digit context rounding can ever tip a value that sits exactly on a half.
    units = value / Fraction(places)
    whole, remainder = divmod(units.numerator, units.denominator)
    if remainder * 2 >= units.denominator:
        whole += 1
    return (Decimal(whole) * places).quantize(places)


@dataclass(frozen=True)
class Credit:
    factor: EmissionFactor
    co2_g: Decimal
    points: Decimal


def current_factor(kind: str, subtype: str | None, at: datetime) -> EmissionFactor:
    """The factor in force at a moment: the latest version whose valid_from is not after it."""
    found = _FACTOR_IN_FORCE.rows(db.session.connection(), {"kind": kind, "subtype": subtype or "", "at": at})
    if not found:
        # A missing catalog row is an operator's mistake, not the user's: never credit a guess.
        raise ServiceUnavailable("排放因子未配置", details={"kind": kind, "subtype": subtype})
    return as_loaded(EmissionFactor(**dict(zip(_FACTOR_COLUMNS, found[0], strict=True))))


# Every credit looks its factor up: as a prebuilt statement (app.database.Write) it skips the ORM's query
# machinery, ~5% of a trip's cost.
_FACTORS = EmissionFactor.__table__
_FACTOR_COLUMNS = tuple(column.key for column in _FACTORS.columns)
_FACTOR_IN_FORCE = Write(
    select(*_FACTORS.columns)
    .where(_FACTORS.c.kind == bindparam("kind"), _FACTORS.c.subtype == bindparam("subtype"),
           _FACTORS.c.valid_from <= bindparam("at", type_=_FACTORS.c.valid_from.type))
    .order_by(_FACTORS.c.valid_from.desc(), _FACTORS.c.version.desc())
    .limit(1))


def credit_for(kind: str, subtype: str | None, amount: Decimal | Fraction, at: datetime) -> Credit:
    factor = current_factor(kind, subtype, at)
    co2 = co2_grams(factor.grams_per_unit, amount)
    return Credit(factor=factor, co2_g=co2, points=points_for(co2))


def current_catalog(at: datetime) -> list[EmissionFactor]:
    """One row per (kind, subtype): the version in force at `at`."""
    rows = db.session.scalars(
        select(EmissionFactor).where(EmissionFactor.valid_from <= at)
        .order_by(EmissionFactor.kind, EmissionFactor.subtype, EmissionFactor.valid_from,
                  EmissionFactor.version)
    ).all()
    latest: dict[tuple[str, str], EmissionFactor] = {}
    for row in rows:
        latest[(row.kind, row.subtype)] = row
    return list(latest.values())


def points_per_unit(factor: EmissionFactor) -> Decimal:
    """Table 3's figure: the points one unit earns (display only; records use their own grams)."""
    return points_for(co2_grams(factor.grams_per_unit, 1))
