"""Chinese names for the domain's codes on admin pages, and the local-time display."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from app.models import Record, RecordStatus
from app.services import clock

KINDS = {"travel": "绿色出行", "sorting": "垃圾分类", "recycling": "旧物回收", "meal": "环保饮食",
         "bedtime": "规范就寝"}
SUBTYPES = {"bike": "自行车", "bus": "公交", "subway": "地铁", "kitchen": "厨余", "textile": "旧衣物",
            "paper": "废纸"}
UNITS = {"km": "千米", "kg": "千克", "time": "次", "serving": "份", "minute": "分钟", "hour": "小时"}
MEALS = {"breakfast": "早餐", "lunch": "午餐", "dinner": "晚餐"}
STATUSES = {RecordStatus.PENDING: "待审核", RecordStatus.CREDITED: "已通过", RecordStatus.REJECTED: "已驳回"}
STATUS_STYLES = {RecordStatus.PENDING: "warning", RecordStatus.CREDITED: "success",
                 RecordStatus.REJECTED: "danger"}
ROLES = {"moderator": "审核员", "admin": "管理员"}
DATA_FIELDS = {"weight_kg": "重量（千克）", "claimed_weight_kg": "申报重量（千克）", "meal": "餐次", "date": "日期",
               "reason": "原因", "kind": "行为", "points": "积分", "co2_g": "减排量（克）", "ip": "IP 地址",
               "role": "角色", "subtype": "类别", "version": "版本", "grams_per_unit": "每单位克数", "unit": "单位",
               "valid_from": "生效时间", "source": "来源", "previous_grams_per_unit": "原每单位克数"}
ACTIONS = {"record_approve": "通过", "record_reject": "驳回", "staff_created": "创建账号",
           "staff_login": "登录", "staff_logout": "退出", "password_changed": "修改密码",
           "reward_created": "新建奖励", "reward_updated": "修改奖励", "redemption_cancel": "取消兑换",
           "article_saved": "保存文章", "article_deleted": "删除文章",
           "tip_saved": "保存建议", "tip_deleted": "删除建议",
           "activity_created": "新建活动", "activity_updated": "修改活动", "activity_cancelled": "取消活动",
           "activity_checkin": "活动签到", "account_deleted": "用户注销账户",
           "partner_create": "新建合作方", "partner_rotate": "更换合作方密钥",
           "partner_suspend": "暂停合作方", "partner_resume": "恢复合作方",
           "factor_published": "发布排放因子", "appeal_grant": "批准申诉", "appeal_deny": "驳回申诉"}


def plain(number: Decimal | None) -> str:
    """2.500 → "2.5", 10.000 → "10": a quantity as people write it."""
    if number is None:
        return ""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(clock.app_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def behaviour(record: Record) -> str:
    """垃圾分类 · 厨余, 旧物回收 · 旧衣物 …"""
    names = [KINDS.get(record.kind, record.kind)]
    if record.subtype:
        names.append(SUBTYPES.get(record.subtype, record.subtype))
    meal = (record.data or {}).get("meal")
    if meal:
        names.append(MEALS.get(meal, meal))
    return " · ".join(names)


def decision_summary(record: Record) -> str:
    if record.status == RecordStatus.CREDITED:
        corrected = ""
        if "claimed_weight_kg" in (record.data or {}):
            corrected = f"（重量更正为 {plain(record.quantity)} 千克）"
        return f"记录 #{record.id} 已通过{corrected}，发放 {record.points} 积分"
    return f"记录 #{record.id} 已驳回：{record.reject_reason}"


TABLES = {"kinds": KINDS, "subtypes": SUBTYPES, "units": UNITS, "meals": MEALS, "statuses": STATUSES,
          "status_styles": STATUS_STYLES, "roles": ROLES, "actions": ACTIONS, "data_fields": DATA_FIELDS}


def register(app) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(behaviour, "behaviour")
    app.add_template_filter(plain, "plain")
