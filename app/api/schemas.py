"""The contract's request and response shapes: pydantic models (they validate requests and make the
OpenAPI document) and the functions that write our rows in those shapes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticUseDefault

from app.models import EmissionFactor, LedgerEntry, Record, User
from app.services import accounting, explanations
from app.services.records import DEFAULT_LIMIT, MAX_LIMIT, RECORD_KINDS, RECORD_STATUSES
from app.services.users import SignedInUser

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL and MariaDB: a larger one is no id of ours


def _blank_is_default(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault()  # `?kind=` means no filter, as if absent
    return value


BlankIsDefault = BeforeValidator(_blank_is_default)
# Exact decimals on the wire are JSON numbers (app.json writes Decimal as a number, never a string).
Grams = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "grams of CO2, 2 decimals"})]
Points = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "points, 1 decimal"})]
Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


_REQUEST_SCHEMAS: dict[type, dict] = {}


class Input(BaseModel):
    """What a request carries. flask-openapi3 reads a query or form model's JSON schema on every
    request (0.5 ms to build): built once per model here. The document asks with arguments, uncached."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        if cls not in _REQUEST_SCHEMAS:
            _REQUEST_SCHEMAS[cls] = super().model_json_schema()
        return _REQUEST_SCHEMAS[cls]


class Request(Input):
    """A request body or form: a field the contract does not name is refused (details.unknown_fields)."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """A response shape: exactly these fields, so an undocumented one fails the schemathesis check."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Input):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page")


# --- Shared resources ---------------------------------------------------------------------------

class UserOut(Response):
    id: int
    nickname: str | None
    avatar_url: str | None
    city: str | None
    created_at: datetime


class FactorUsed(Response):
    grams_per_unit: Number
    unit: str
    version: int


class PhotoRef(Response):
    id: int
    image_url: str = Field(description="the owner's own image (bearer token required)")


class ExplainedActivity(Response):
    quantity: Number = Field(description="the credited amount, in unit")
    unit: str
    text: str = Field(description="what it is and where it comes from: 骑行 4.2 km（来自你的 GPS 轨迹）, "
                                  "来自合作方「上海地铁」，已核实, 回收旧衣物 2.5 kg …")


class ExplainedFactor(Response):
    """The factor the record was computed with (kept by the record: a later version changes nothing)."""

    grams_per_unit: Number
    unit: str
    version: int
    valid_from: datetime
    source: str = Field(description="where the figure comes from: the seed paper's Table 2, a methodology …")


class Adjustment(Response):
    """A cap, correction or reversal applied to the record, with its amounts."""

    type: Literal["daily_cap", "bedtime_cap", "moderator_correction", "reversal"]
    text: str
    before: Number | None = Field(None, description="the amount before (reported, travelled, claimed)")
    after: Number | None = Field(None, description="the amount credited")
    unit: str | None = None
    points: Points | None = Field(None, description="signed points moved by it (a reversal is negative)")
    at: datetime | None = None


class Explanation(Response):
    """Why N grams: activity data × the record's own factor = co2_g; co2_g × POINTS_PER_GRAM = points
    (both half-up), then any cap, correction or reversal, and where the record stands."""

    activity: ExplainedActivity
    factor: ExplainedFactor
    co2_g: str = Field(description="the formula: 4.2 km × 48 g/km = 201.60 g")
    points: str = Field(description="the formula: 201.60 g × 0.1 积分/g = 20.2 积分（四舍五入到 0.1）")
    adjustments: list[Adjustment]
    status: str = Field(description="已计入 … / 待审核 … / 已驳回：<reason>")


class RecordOut(Response):
    """A recorded behaviour. Kind-specific fields appear with their kind: bedtime (night, bedtime,
    minutes_early), recycling (material, weight_kg), meal (meal, date), photos (photo,
    suspected_duplicate), travel (mode, distance_km, started_at, ended_at, point_count, daily_cap_applied)."""

    id: int
    kind: Literal[*RECORD_KINDS]
    subtype: str | None
    status: Literal[*RECORD_STATUSES]
    co2_g: Grams
    points: Points
    created_at: datetime
    day: date
    quantity: Number = Field(description="credited amount, in unit")
    unit: str
    factor: FactorUsed
    source: str = Field(description='"user" (the mini program) or "partner:<id>" (an operator)')
    verified: bool = Field(description="seen by the operator itself (a partner), not only claimed")
    explanation: Explanation
    reject_reason: str | None = None
    night: date | None = None
    bedtime: str | None = None
    minutes_early: int | None = None
    material: str | None = None
    weight_kg: Number | None = None
    meal: str | None = None
    meal_date: date | None = Field(None, alias="date")
    photo: PhotoRef | None = None
    suspected_duplicate: bool | None = None
    mode: str | None = None
    distance_km: Number | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    point_count: int | None = None
    daily_cap_applied: bool | None = None


class RecordPage(Response):
    items: list[RecordOut]
    next_cursor: str | None


class LedgerEntryOut(Response):
    """One point movement: credits positive, spending negative; it names what caused it."""

    id: int
    points: Points
    reason: str
    created_at: datetime
    record_id: int | None = None
    redemption_id: int | None = None
    signup_id: int | None = None


class LedgerPage(Response):
    items: list[LedgerEntryOut]
    next_cursor: str | None


class FactorOut(Response):
    kind: str
    subtype: str | None
    grams_per_unit: Number
    points_per_unit: Number
    unit: str
    valid_from: datetime
    version: int
    source: str | None


class FactorList(Response):
    items: list[FactorOut]


def plain(value: Decimal) -> Decimal:
    """A Decimal without trailing zeros or exponent: 26.92, 48, 3600 (not 3.6E+3)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def user_json(user: User | SignedInUser) -> dict:
    return {"id": user.id, "nickname": user.nickname, "avatar_url": user.avatar_url, "city": user.city,
            "created_at": user.created_at.isoformat()}


def factor_json(factor: EmissionFactor) -> dict:
    return {"kind": factor.kind, "subtype": factor.subtype or None,
            "grams_per_unit": plain(factor.grams_per_unit),
            "points_per_unit": accounting.points_per_unit(factor), "unit": factor.unit,
            "valid_from": factor.valid_from.isoformat(), "version": factor.version,
            "source": factor.source}


def record_json(record: Record, explanation: dict | None = None) -> dict:
    """A record in the contract's shape; pass its explanation when a page explains many at once."""
    body = {"id": record.id, "kind": record.kind, "subtype": record.subtype, "status": record.status,
            "co2_g": record.co2_g, "points": record.points, "created_at": record.created_at.isoformat(),
            "day": record.day.isoformat(), "quantity": plain(record.quantity), "unit": record.unit,
            "factor": {"grams_per_unit": plain(record.factor.grams_per_unit),
                       "unit": record.factor.unit, "version": record.factor.version},
            "source": record.source, "verified": record.verified,
            "explanation": explanation if explanation is not None else explanations.explain(record)}
    if record.reject_reason:
        body["reject_reason"] = record.reject_reason
    if record.kind == "bedtime" and record.data:
        body.update(night=record.data["night"], bedtime=record.data["bedtime"],
                    minutes_early=record.data["minutes_early"])
    if record.kind in ("recycling", "meal") and record.data:
        body.update({k: v for k, v in record.data.items() if k in ("weight_kg", "meal", "date")})
        if "weight_kg" in body:
            body["material"] = record.subtype
            body["weight_kg"] = Decimal(body["weight_kg"])
    if record.photo is not None:
        photo = record.photo
        body["photo"] = {"id": photo.id, "image_url": f"/api/v1/photos/{photo.id}/image"}
        body["suspected_duplicate"] = photo.suspected_original_id is not None
    if record.trip is not None:
        trip = record.trip
        body.update(mode=trip.mode, distance_km=trip.distance_km, started_at=trip.started_at.isoformat(),
                    ended_at=trip.ended_at.isoformat(), point_count=trip.point_count)
        # quantity is the credited km: less than distance_km when the daily cap cut the trip short
        body["daily_cap_applied"] = bool(record.data and record.data.get("daily_cap_applied"))
    return body


def ledger_json(entry: LedgerEntry) -> dict:
    body = {"id": entry.id, "points": entry.points, "reason": entry.reason,
            "created_at": entry.created_at.isoformat()}
    if entry.redemption_id is not None:
        body["redemption_id"] = entry.redemption_id
    elif entry.signup_id is not None:
        body["signup_id"] = entry.signup_id
    else:
        body["record_id"] = entry.record_id
    return body
