"""Why a record is worth what it is (为什么是 N 克): the activity data, the factor the record kept, the
conversion to grams and points, and every cap, correction or reversal applied to it.

Everything is read from what was stored when the record was made or decided (the record, its own
factor row, its trip, photo or partner event, its ledger entries and the moderator's audit entry),
never recomputed from today's catalog: a new factor version changes no old explanation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.models import Appeal, AppealStatus, AuditEntry, LedgerEntry, LedgerReason, Record, RecordStatus
from app.models.partners import Partner, PartnerEvent
from app.services import accounting, bedtimes

# How units read inside a sentence and a formula ("1 次 × 68 g/次").
UNIT_NAMES = {"km": "km", "kg": "kg", "time": "次", "serving": "份", "minute": "分钟", "hour": "小时"}
MODE_NAMES = {"bike": "骑行", "bus": "乘公交", "subway": "乘地铁"}
MATERIAL_NAMES = {"textile": "旧衣物", "paper": "废纸"}
SUBTYPE_NAMES = {"bike": "自行车", "bus": "公交", "subway": "地铁", "kitchen": "厨余", "textile": "旧衣物",
                 "paper": "废纸"}
MEAL_NAMES = {"breakfast": "早餐", "lunch": "午餐", "dinner": "晚餐"}


@dataclass
class _Evidence:
    """What the ledger, the audit log and the partners hold about a batch of records, read in 4 queries."""

    entries: dict[int, list[LedgerEntry]] = field(default_factory=lambda: defaultdict(list))
    corrections: dict[int, AuditEntry] = field(default_factory=dict)
    partner_names: dict[int, str] = field(default_factory=dict)
    granted_appeals: dict[int, Appeal] = field(default_factory=dict)
    partner_events: dict[int, PartnerEvent] = field(default_factory=dict)


def explain(record: Record) -> dict:
    return explain_all([record])[0]


@dataclass(frozen=True)
class _Credit:
    """What an explanation reads of a ledger entry."""

    reason: str
    points: Decimal
    created_at: datetime


def explain_new(record: Record) -> dict:
    """explain() of a record made in this request, without reading anything: the ledger holds at most its
    credit, and no appeal, correction or reversal can have touched it yet (a partner's record reads its
    partner's name)."""
    if _partner_id(record) is not None:
        return explain(record)
    evidence = _Evidence()
    if record.status == RecordStatus.CREDITED and record.points:
        evidence.entries[record.id].append(_Credit(LedgerReason.RECORD_CREDIT, record.points, record.decided_at))
    return _explain(record, evidence)


def explain_all(records: Sequence[Record]) -> list[dict]:
    """The explanation of each record, in order (a page of records costs a fixed number of queries)."""
    evidence = _gather(records)
    return [_explain(record, evidence) for record in records]


def _gather(records: Sequence[Record]) -> _Evidence:
    evidence = _Evidence()
    ids = [r.id for r in records]
    if not ids:
        return evidence
    for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.record_id.in_(ids))
                                    .order_by(LedgerEntry.id)):
        evidence.entries[entry.record_id].append(entry)
    for appeal in db.session.scalars(select(Appeal).where(
            Appeal.status == AppealStatus.GRANTED,
            or_(Appeal.record_id.in_(ids), Appeal.granted_record_id.in_(ids)))):
        evidence.granted_appeals[appeal.granted_record_id or appeal.record_id] = appeal
    corrected = [r.id for r in records if "claimed_weight_kg" in (r.data or {})]
    if corrected:
        for audit in db.session.scalars(select(AuditEntry).where(
                AuditEntry.record_id.in_(corrected), AuditEntry.action == "record_approve")):
            evidence.corrections[audit.record_id] = audit
    partner_ids = {_partner_id(r) for r in records} - {None}
    if partner_ids:
        evidence.partner_names = dict(db.session.execute(
            select(Partner.id, Partner.name).where(Partner.id.in_(partner_ids))).all())
        for event in db.session.scalars(select(PartnerEvent).where(
                PartnerEvent.record_id.in_([r.id for r in records if _partner_id(r) is not None]))):
            evidence.partner_events[event.record_id] = event
    return evidence


def _partner_id(record: Record) -> int | None:
    prefix, _, number = (record.source or "").partition(":")
    return int(number) if prefix == "partner" and number.isdigit() else None


def _explain(record: Record, evidence: _Evidence) -> dict:
    factor = record.factor
    return {
        "activity": {"quantity": _plain(record.quantity), "unit": record.unit,
                     "text": _activity_text(record, evidence)},
        "factor": {"grams_per_unit": _plain(factor.grams_per_unit), "unit": factor.unit,
                   "version": factor.version, "valid_from": factor.valid_from.isoformat(), "source": factor.source},
        "co2_g": _co2_formula(record),
        "points": _points_formula(record),
        "adjustments": _adjustments(record, evidence),
        "status": _status_text(record, evidence),
    }


def _plain(value: Decimal) -> Decimal:
    """2.500 → 2.5, 3600.0000 → 3600: a quantity as people write it (as app.api.schemas.plain)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def _number(value: Decimal) -> str:
    return format(_plain(value), "f")


def _unit(unit: str) -> str:
    return UNIT_NAMES.get(unit, unit)


# --- the activity --------------------------------------------------------------------------------------

def _source_text(record: Record, evidence: _Evidence, own: str) -> str:
    partner_id = _partner_id(record)
    if partner_id is None:
        return own
    name = evidence.partner_names.get(partner_id, f"#{partner_id}")
    return f"来自合作方「{name}」" + ("，已核实" if record.verified else "")


def _activity_text(record: Record, evidence: _Evidence) -> str:
    quantity, data = _number(record.quantity), record.data or {}
    if record.kind == "travel":
        # distance_km is what was travelled; quantity (credited) may be less under the daily cap
        distance = record.trip.distance_km if record.trip is not None else record.quantity
        what = f"{MODE_NAMES.get(record.subtype, record.subtype)} {_number(distance)} km"
        return f"{what}（{_source_text(record, evidence, '来自你的 GPS 轨迹')}）"
    if record.kind == "bedtime":
        night, bedtime = data.get("night", record.day.isoformat()), data.get("bedtime", "")
        if record.quantity == 0:
            return f"{night} 晚 {bedtime} 就寝，不早于 23:00（你的自报）"
        return f"{night} 晚 {bedtime} 就寝，计 {quantity} 分钟早于 23:00（你的自报）"
    own = "来自你上传的照片，经审核员确认" if record.status == RecordStatus.CREDITED else "来自你上传的照片"
    source = _source_text(record, evidence, own)
    if record.kind == "recycling":
        return f"回收{MATERIAL_NAMES.get(record.subtype, record.subtype)} {quantity} kg（{source}）"
    if record.kind == "sorting":
        return f"厨余垃圾分类 {quantity} 次（{source}）"
    if record.kind == "meal":
        meal = MEAL_NAMES.get(data.get("meal"), data.get("meal") or "")
        return f"{data.get('date', record.day.isoformat())} {meal}少点一份外卖（{source}）"
    return f"{quantity} {_unit(record.unit)}（{source}）"


# --- the arithmetic ------------------------------------------------------------------------------------

def _co2_formula(record: Record) -> str:
    factor, co2 = record.factor, f"{record.co2_g:.2f} g"
    grams = f"{_number(factor.grams_per_unit)} g/{_unit(factor.unit)}"
    if record.unit == "minute" and factor.unit == "hour":
        return f"{_number(record.quantity)} 分钟 ÷ 60 × {grams} = {co2}"
    return f"{_number(record.quantity)} {_unit(record.unit)} × {grams} = {co2}"


def _points_formula(record: Record) -> str:
    rate = Decimal(current_app.config["POINTS_PER_GRAM"])
    points = f"{record.points:.1f} 积分"
    if accounting.points_for(record.co2_g) != record.points:
        # made under another POINTS_PER_GRAM: the stored points stand, the rate of that time is not kept
        return f"{record.co2_g:.2f} g → {points}（按记录时的换算比例）"
    return f"{record.co2_g:.2f} g × {_number(rate)} 积分/g = {points}（四舍五入到 0.1）"


# --- what changed it -----------------------------------------------------------------------------------

def _adjustments(record: Record, evidence: _Evidence) -> list[dict]:
    data, found = record.data or {}, []
    if record.kind == "travel" and data.get("daily_cap_applied") and record.trip is not None:
        found.append(_adjustment(
            "daily_cap", f"每日{MODE_NAMES.get(record.subtype, record.subtype)}里程上限：行程 "
                         f"{_number(record.trip.distance_km)} km，只计入 {_number(record.quantity)} km",
            before=record.trip.distance_km, after=record.quantity, unit="km"))
    event = evidence.partner_events.get(record.id)
    reported = (event.payload or {}).get("count") if event is not None else None
    if record.kind == "sorting" and isinstance(reported, int) and reported > record.quantity:
        found.append(_adjustment(
            "daily_cap", f"每日分类次数上限：上报 {reported} 次，只计入 {_number(record.quantity)} 次",
            before=Decimal(reported), after=record.quantity, unit="time"))
    if record.kind == "bedtime" and data.get("bedtime"):
        early = bedtimes.LIGHTS_OUT_MINUTE - bedtimes.parse_bedtime(data["bedtime"])
        if early > record.quantity > 0:
            found.append(_adjustment("bedtime_cap", f"每晚最多计 {bedtimes.MAX_EARLY_MINUTES // 60} 小时：早 "
                                                    f"{early} 分钟，只计入 {_number(record.quantity)} 分钟",
                                     before=Decimal(early), after=record.quantity, unit="minute"))
    if "claimed_weight_kg" in data:
        claimed = Decimal(data["claimed_weight_kg"])
        audit = evidence.corrections.get(record.id)
        found.append(_adjustment(
            "moderator_correction", f"审核员将重量由 {_number(claimed)} kg 更正为 {_number(record.quantity)} kg",
            before=claimed, after=record.quantity, unit="kg", at=audit.created_at if audit else None))
    for entry in evidence.entries.get(record.id, ()):
        if entry.reason != LedgerReason.RECORD_REVERSAL:
            continue
        text = f"与合作方核实的行程 #{data.get('superseded_by_record_id', '')} 重复，以核实记录为准，收回 " \
               f"{-entry.points:.1f} 积分"
        if data.get("unrecovered_points"):
            text += f"（另有 {Decimal(data['unrecovered_points']):.1f} 积分已被使用，未能收回）"
        found.append(_adjustment("reversal", text, points=entry.points, at=entry.created_at))
    return found


def _adjustment(kind: str, text: str, *, before: Decimal | None = None, after: Decimal | None = None,
                unit: str | None = None, points: Decimal | None = None, at=None) -> dict:
    body: dict = {"type": kind, "text": text}
    if before is not None:
        body.update(before=_plain(before), after=_plain(after), unit=unit)
    if points is not None:
        body["points"] = points
    if at is not None:
        body["at"] = at.isoformat()
    return body


def _status_text(record: Record, evidence: _Evidence) -> str:
    if record.status == RecordStatus.PENDING:
        return f"待审核：审核员确认照片后计入 {record.points:.1f} 积分"
    if record.status == RecordStatus.REJECTED:
        return f"已驳回：{record.reject_reason or '未注明原因'}"
    credited = sum((e.points for e in evidence.entries.get(record.id, ())
                    if e.reason == LedgerReason.RECORD_CREDIT), Decimal("0.0"))
    if credited == 0:
        return "已记录，不计积分" if record.points == 0 else f"已记录 {record.points:.1f} 积分"
    appeal = evidence.granted_appeals.get(record.id)
    if appeal is not None:
        return f"已计入 {credited:.1f} 积分（申诉通过：{appeal.outcome_reason or '未注明原因'}）"
    return f"已计入 {credited:.1f} 积分"

