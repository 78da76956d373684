"""Reduction suggestions (减排建议): rules over the user's own last 30 days, admin tips, the weekly digest."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from app.database import write_transaction
from app.errors import NotFound, ValidationFailed, WechatUnavailable
from app.extensions import db
from app.models import AuditEntry, Record, RecordStatus, Tip, User
from app.services import accounting, clock

log = logging.getLogger(__name__)

WINDOW_DAYS = 30
RARELY = 4  # fewer records than this in 30 days: less than about once a week
LATE_NIGHTS = 2  # this many nights after 23:00 in 30 days earn a bedtime suggestion even from regulars
TIP_KINDS = ("travel", "sorting", "recycling", "bedtime", "meal")
MAX_TIPS = 20
NO_SUBSCRIPTION_LEFT = 43101  # the user accepted no (more) messages of this template


@dataclass(frozen=True)
class Suggestion:
    title: str
    text: str
    kind: str | None
    potential_co2_g: Decimal | None  # grams a week, at the factors in force now
    source: str  # personal | tip
    tip_id: int | None = None


@dataclass(frozen=True)
class _Rule:
    """"Do `amount` (in the factor's unit) `times` a week instead of the high-carbon habit"."""

    kind: str
    subtype: str
    counted: tuple[str, ...]  # subtypes whose records show the habit is already there ("" = any)
    amount: Decimal
    times: int
    title: str
    text: str  # {grams} is filled in


RULES = (
    _Rule("travel", "bike", ("bike",), Decimal(3), 2, "短途骑车代替开车",
          "每周两次 3 公里的短途改骑自行车，不开车，每周约可减排 {grams} 克 CO₂。"),
    _Rule("travel", "subway", ("bus", "subway"), Decimal(10), 2, "乘公共交通通勤",
          "每周两次 10 公里的通勤改乘地铁，不开车，每周约可减排 {grams} 克 CO₂。"),
    _Rule("meal", "", ("",), Decimal(1), 2, "少点外卖",
          "每周少点两次外卖，自己做饭或堂食，每周约可减排 {grams} 克 CO₂。"),
    _Rule("sorting", "kitchen", ("",), Decimal(1), 3, "厨余垃圾分类投放",
          "每周分类投放三次厨余垃圾，每周约可减排 {grams} 克 CO₂。"),
    _Rule("recycling", "paper", ("",), Decimal("0.5"), 1, "回收废纸和纸箱",
          "每周把 0.5 千克废纸、快递纸箱交给回收，每周约可减排 {grams} 克 CO₂。"),
)
BEDTIME = _Rule("bedtime", "", ("",), Decimal(1), 3, "早睡一小时",
                "每周三晚提前到 22:00 就寝，每周约可减排 {grams} 克 CO₂。")


def _recent_counts(user_id: int, since: date) -> dict[tuple[str, str], int]:
    """Records (pending or credited) per (kind, subtype) since a local day."""
    rows = db.session.execute(
        select(Record.kind, Record.subtype, func.count(Record.id))
        .where(Record.user_id == user_id, Record.day >= since, Record.status != RecordStatus.REJECTED)
        .group_by(Record.kind, Record.subtype)).all()
    return {(kind, subtype or ""): count for kind, subtype, count in rows}


def _late_nights(user_id: int, since: date) -> int:
    """Nights recorded at or after 23:00 (no minutes early)."""
    return db.session.scalar(
        select(func.count(Record.id))
        .where(Record.user_id == user_id, Record.kind == "bedtime", Record.day >= since,
               Record.quantity == Decimal(0), Record.status != RecordStatus.REJECTED)) or 0


def personal_suggestions(user_id: int, now: datetime | None = None) -> list[Suggestion]:
    """Behaviours the user never or rarely recorded in the last 30 days, with the grams a week they would
    avoid at the factors in force now; most grams first."""
    now = now or clock.now()
    since = clock.local_day(now) - timedelta(days=WINDOW_DAYS - 1)
    counts = _recent_counts(user_id, since)
    factors = {(f.kind, f.subtype): f for f in accounting.current_catalog(now)}

    def recorded(rule: _Rule) -> int:
        return sum(n for (kind, subtype), n in counts.items()
                   if kind == rule.kind and ("" in rule.counted or subtype in rule.counted))

    chosen: list[tuple[_Rule, str | None]] = [(rule, None) for rule in RULES if recorded(rule) < RARELY]
    late = _late_nights(user_id, since)
    if late >= LATE_NIGHTS:
        chosen.append((BEDTIME, f"最近 30 天有 {late} 晚在 23:00 之后入睡。"))
    elif recorded(BEDTIME) < RARELY:
        chosen.append((BEDTIME, None))

    suggestions = []
    for rule, preface in chosen:
        factor = factors.get((rule.kind, rule.subtype))
        if factor is None:  # a catalog without this behaviour suggests nothing about it
            continue
        grams = accounting.co2_grams(factor.grams_per_unit, rule.amount * rule.times)
        text = (preface or "") + rule.text.format(grams=_grams_text(grams))
        suggestions.append(Suggestion(rule.title, text, rule.kind, grams, "personal"))
    suggestions.sort(key=lambda s: s.potential_co2_g, reverse=True)
    return suggestions


def _grams_text(grams: Decimal) -> str:
    text = format(grams, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def active_tips() -> list[Suggestion]:
    tips = db.session.scalars(select(Tip).where(Tip.active.is_(True)).order_by(Tip.id.desc()).limit(MAX_TIPS))
    return [Suggestion(t.title, t.text, t.kind, t.potential_co2_g, "tip", t.id) for t in tips]


def suggestions_for(user_id: int, now: datetime | None = None) -> list[Suggestion]:
    return personal_suggestions(user_id, now) + active_tips()


# -- admin-written tips --

@dataclass(frozen=True)
class TipInput:
    title: str
    text: str
    kind: str | None
    potential_co2_g: Decimal | None
    active: bool


def _validate_tip(data: TipInput) -> None:
    if not data.title.strip() or len(data.title) > 100:
        raise ValidationFailed("标题须为 1–100 个字符", details={"field": "title"})
    if not data.text.strip() or len(data.text) > 500:
        raise ValidationFailed("内容须为 1–500 个字符", details={"field": "text"})
    if data.kind is not None and data.kind not in TIP_KINDS:
        raise ValidationFailed("行为类别无效", details={"field": "kind", "allowed": list(TIP_KINDS)})
    grams = data.potential_co2_g
    if grams is not None and (not grams.is_finite() or grams < 0 or grams != grams.quantize(Decimal("0.01"))):
        raise ValidationFailed("减排量须为不小于 0 的数，至多两位小数", details={"field": "potential_co2_g"})


def save_tip(tip_id: int | None, data: TipInput, staff_id: int | None = None) -> Tip:
    _validate_tip(data)
    with write_transaction():
        if tip_id is None:
            tip = Tip()
            db.session.add(tip)
        else:
            tip = db.session.get(Tip, tip_id)
            if tip is None:
                raise NotFound()
        tip.title, tip.text, tip.kind = data.title.strip(), data.text.strip(), data.kind
        tip.potential_co2_g = data.potential_co2_g.quantize(Decimal("0.01")) if data.potential_co2_g is not None \
            else None
        tip.active = data.active
        db.session.flush()
        db.session.add(AuditEntry(staff_id=staff_id, action="tip_saved", details={"tip_id": tip.id}))
    return tip


def delete_tip(tip_id: int, staff_id: int | None = None) -> None:
    with write_transaction():
        tip = db.session.get(Tip, tip_id)
        if tip is None:
            raise NotFound()
        db.session.delete(tip)
        db.session.add(AuditEntry(staff_id=staff_id, action="tip_deleted",
                                  details={"tip_id": tip_id, "title": tip.title}))


def get_tip(tip_id: int) -> Tip:
    tip = db.session.get(Tip, tip_id)
    if tip is None:
        raise NotFound()
    return tip


def all_tips() -> list[Tip]:
    return list(db.session.scalars(select(Tip).order_by(Tip.id.desc())))


# -- the weekly digest --

@dataclass
class DigestResult:
    sent: int = 0
    no_subscription: int = 0
    failed: int = 0


def week_grams(user_id: int, today: date) -> Decimal:
    """CO2 credited for the seven local days ending today."""
    total = db.session.scalar(
        select(func.sum(Record.co2_g))
        .where(Record.user_id == user_id, Record.status == RecordStatus.CREDITED,
               Record.day > today - timedelta(days=7), Record.day <= today))
    return total if total is not None else Decimal("0.00")


def send_weekly_digest(template_id: str, now: datetime | None = None, batch: int = 500) -> DigestResult:
    """One subscribe message per WeChat user (development logins have no real openid): the week's grams and
    the top suggestion. Best effort per user: a refusal (no subscription left, WeChat busy) is counted and
    the next user is tried. Users are read in batches and no transaction stays open across HTTP calls."""
    now = now or clock.now()
    today = clock.local_day(now)
    wechat = current_app.extensions["wechat"]
    result = DigestResult()
    last_id = 0
    while True:
        users = db.session.execute(
            select(User.id, User.openid)
            .where(User.id > last_id, User.openid.is_not(None), User.deleted_at.is_(None),
                   User.openid.not_like("dev\\_%", escape="\\"))
            .order_by(User.id).limit(batch)).all()
        if not users:
            return result
        for user_id, openid in users:
            last_id = user_id
            grams = week_grams(user_id, today)
            top = next(iter(suggestions_for(user_id, now)), None)
            db.session.rollback()  # end the read transaction before talking to WeChat
            data = {"number1": format(grams, "f"), "thing2": (top.title if top else "继续保持低碳生活")[:20],
                    "date3": f"{today.year}年{today.month}月{today.day}日"}
            try:
                wechat.send_subscribe_message(openid, template_id, data)
            except WechatUnavailable as exc:
                if exc.details.get("wechat_errcode") == NO_SUBSCRIPTION_LEFT:
                    result.no_subscription += 1
                else:
                    log.warning("digest for user %s not sent: %s", user_id, exc.details)
                    result.failed += 1
            else:
                result.sent += 1
