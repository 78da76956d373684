"""Request parsing and the JSON shapes of the contract's resources."""

from __future__ import annotations

from decimal import Decimal

from flask import request

from app.errors import ValidationFailed
from app.models import EmissionFactor, LedgerEntry, Record, User
from app.services import accounting


def json_body(required: dict[str, type], optional: dict[str, type] | None = None) -> dict:
    """The request's JSON object, with the named fields of the named types and no others."""
    optional = optional or {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体须为 JSON 对象")
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise ValidationFailed(details={"unknown_fields": unknown})
    for name, kind in {**required, **optional}.items():
        if name not in body:
            if name in required:
                raise ValidationFailed(details={"field": name, "problem": "required"})
            continue
        value = body[name]
        if kind is not object and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
            raise ValidationFailed(details={"field": name, "problem": f"expected {kind.__name__}"})
    return body


def plain(value: Decimal) -> Decimal:
    """A Decimal without trailing zeros or exponent: 26.92, 48, 3600 (not 3.6E+3)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def user_json(user: User) -> dict:
    return {"id": user.id, "nickname": user.nickname, "avatar_url": user.avatar_url, "city": user.city,
            "created_at": user.created_at.isoformat()}


def factor_json(factor: EmissionFactor) -> dict:
    return {"kind": factor.kind, "subtype": factor.subtype or None,
            "grams_per_unit": plain(factor.grams_per_unit),
            "points_per_unit": accounting.points_per_unit(factor), "unit": factor.unit,
            "valid_from": factor.valid_from.isoformat(), "version": factor.version,
            "source": factor.source}


def record_json(record: Record) -> dict:
    body = {"id": record.id, "kind": record.kind, "subtype": record.subtype, "status": record.status,
            "co2_g": record.co2_g, "points": record.points, "created_at": record.created_at.isoformat(),
            "day": record.day.isoformat(), "quantity": plain(record.quantity), "unit": record.unit,
            "factor": {"grams_per_unit": plain(record.factor.grams_per_unit),
                       "unit": record.factor.unit, "version": record.factor.version}}
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
