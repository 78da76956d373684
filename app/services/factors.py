"""Managing the emission factor catalog: publishing a new version of a factor, from now or a later start.

A version is never edited or back-dated: records keep the factor row they were computed with, and a
start in the past would change which factor records already made "should" have used. So a new
version starts now or later, after every version of its factor already published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from app.database import write_transaction
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, EmissionFactor
from app.services import clock

# The largest seed factor is 5420 g/kg (paper); a hundredfold is no plausible revision but a typo.
MAX_GRAMS_PER_UNIT = Decimal("100000")
GRAMS_PLACES = Decimal("0.0001")  # the column keeps 4 decimals
MAX_SOURCE = 255
# The admin form picks a minute: a start within the current minute means "now".
START_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class FactorHistory:
    """One factor (kind, subtype): every version, newest first, and the one in force now."""

    kind: str
    subtype: str
    versions: list[EmissionFactor]
    current: EmissionFactor | None

    @property
    def scheduled(self) -> list[EmissionFactor]:
        """Versions published for a later start, not in force yet."""
        return [v for v in self.versions if self.current is None or v.valid_from > self.current.valid_from]


def catalog_history(now: datetime | None = None) -> list[FactorHistory]:
    now = now or clock.now()
    rows = db.session.scalars(select(EmissionFactor).order_by(
        EmissionFactor.kind, EmissionFactor.subtype, EmissionFactor.valid_from.desc(),
        EmissionFactor.version.desc())).all()
    grouped: dict[tuple[str, str], list[EmissionFactor]] = {}
    for row in rows:
        grouped.setdefault((row.kind, row.subtype), []).append(row)
    return [FactorHistory(kind, subtype, versions, next((v for v in versions if v.valid_from <= now), None))
            for (kind, subtype), versions in grouped.items()]


def parse_grams(value: object) -> Decimal:
    """0 < grams per unit ≤ MAX_GRAMS_PER_UNIT, at most 4 decimals."""
    try:
        grams = Decimal(str(value).strip()) if value not in (None, "") else None
    except InvalidOperation:
        grams = None
    if grams is None or not grams.is_finite() or not 0 < grams <= MAX_GRAMS_PER_UNIT \
            or grams != grams.quantize(GRAMS_PLACES):
        raise ValidationFailed(f"每单位克数须为大于 0、不超过 {MAX_GRAMS_PER_UNIT} 的数，至多 4 位小数",
                               details={"field": "grams_per_unit"})
    return grams.quantize(GRAMS_PLACES)


def publish_factor(kind: str, subtype: str | None, grams_per_unit: object, source: str | None,
                   starts_at: datetime | None, staff_id: int | None, now: datetime | None = None) -> EmissionFactor:
    """A new version of an existing factor, in force from `starts_at` (None: now), audited.

    Its unit is the factor's own: the records' quantities are kept in it, so a version cannot change it.
    """
    now = now or clock.now()
    grams = parse_grams(grams_per_unit)
    source = (source or "").strip()
    if not source:
        raise ValidationFailed("请填写来源（方法学、文献或合作方）", details={"field": "source"})
    if len(source) > MAX_SOURCE:
        raise ValidationFailed(f"来源至多 {MAX_SOURCE} 个字符", details={"field": "source"})
    starts_at = starts_at or now
    if starts_at.tzinfo is None:
        raise ValidationFailed("开始时间须带时区", details={"field": "valid_from"})
    if starts_at < now - START_GRACE:
        raise ValidationFailed("开始时间不能早于现在：已有记录的因子不可追溯修改", details={"field": "valid_from"})
    starts_at = max(starts_at, now)
    subtype = subtype or ""
    with write_transaction():
        latest = db.session.scalar(
            select(EmissionFactor).where(EmissionFactor.kind == kind, EmissionFactor.subtype == subtype)
            .order_by(EmissionFactor.version.desc()).limit(1).with_for_update())
        if latest is None:
            raise NotFound("没有这个排放因子", details={"kind": kind, "subtype": subtype or None})
        last_start = db.session.scalar(select(func.max(EmissionFactor.valid_from)).where(
            EmissionFactor.kind == kind, EmissionFactor.subtype == subtype))
        if starts_at < last_start:
            local = last_start.astimezone(clock.app_zone())
            raise ValidationFailed(
                f"开始时间须不早于该因子已发布的最新版本的开始时间（{local:%Y-%m-%d %H:%M}）",
                details={"field": "valid_from"})
        # Two admins publishing at once: the unique (kind, subtype, version) refuses the second (409).
        factor = EmissionFactor(kind=kind, subtype=subtype, version=latest.version + 1, grams_per_unit=grams,
                                unit=latest.unit, valid_from=starts_at, source=source, created_at=now)
        db.session.add(factor)
        db.session.flush()
        db.session.add(AuditEntry(staff_id=staff_id, action="factor_published", details={
            "kind": kind, "subtype": subtype or None, "version": factor.version, "grams_per_unit": str(grams),
            "unit": factor.unit, "valid_from": starts_at.isoformat(), "source": source,
            "previous_grams_per_unit": str(latest.grams_per_unit)}))
    return factor
