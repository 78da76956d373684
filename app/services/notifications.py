"""Subscribe messages (订阅消息) telling users the outcome of a review, where WeChat is configured."""

from __future__ import annotations

import logging

from flask import current_app

from app.errors import WechatUnavailable
from app.extensions import db
from app.models import Record, RecordStatus, User

log = logging.getLogger(__name__)

KIND_NAMES = {"sorting": "垃圾分类", "recycling": "旧物回收", "meal": "环保饮食", "travel": "绿色出行",
              "bedtime": "规范就寝"}


def record_decided(record: Record) -> bool:
    """Tell the user a record was approved or rejected. Best effort, after the decision committed:
    a message WeChat refuses (no subscription left, WeChat down) never undoes the decision."""
    approved = record.status == RecordStatus.CREDITED
    return _send_review_message(
        record.user_id, f"record {record.id}", f"pages/records/detail?id={record.id}",
        {"thing1": KIND_NAMES.get(record.kind, record.kind), "phrase2": "审核通过" if approved else "未通过",
         "thing3": (f"获得 {record.points} 积分" if approved else (record.reject_reason or ""))[:20]})


def appeal_decided(appeal) -> bool:
    """Tell the user their appeal was granted or denied, with the moderator's reason (best effort,
    after the decision committed, like record_decided)."""
    return _send_review_message(
        appeal.user_id, f"appeal {appeal.id}", f"pages/appeals/detail?id={appeal.id}",
        {"thing1": "申诉", "phrase2": "申诉通过" if appeal.status == "granted" else "申诉未通过",
         "thing3": (appeal.outcome_reason or "")[:20]})


def _send_review_message(user_id: int, about: str, page: str, data: dict[str, str]) -> bool:
    """The review-outcome template to a WeChat user; False where WeChat is not configured, the user
    has no real openid (development login, deleted account) or WeChat refuses."""
    template_id = current_app.config.get("WECHAT_REVIEW_TEMPLATE_ID")
    wechat = current_app.extensions["wechat"]
    if not template_id or not wechat.appid:
        return False
    user = db.session.get(User, user_id)
    if user is None or not user.openid or user.openid.startswith("dev_"):
        return False
    try:
        wechat.send_subscribe_message(user.openid, template_id, data, page=page)
    except WechatUnavailable as exc:
        log.warning("review message for %s not sent: %s", about, exc.details)
        return False
    return True
