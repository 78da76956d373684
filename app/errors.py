"""Domain errors: each carries the contract's status and error code, so one handler renders them all."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the client can act on. Services raise these; the API renders the error envelope."""

    status: int = 400
    code: str = "bad_request"
    message: str = "请求无效"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 code: str | None = None, status: int | None = None):
        super().__init__(message or self.message)
        if message:
            self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}


class ValidationFailed(DomainError):
    status, code, message = 422, "validation_error", "请求参数无效"


class Unauthorized(DomainError):
    status, code, message = 401, "unauthorized", "未登录或登录已过期"


class NotFound(DomainError):
    status, code, message = 404, "not_found", "资源不存在"


class Conflict(DomainError):
    status, code, message = 409, "conflict", "与现有数据冲突"


class DuplicateRecord(Conflict):
    code, message = "duplicate_record", "该记录已存在"


class DailyLimitReached(Conflict):
    code, message = "daily_limit_reached", "今日该行为已达上限"


class ImplausibleTrip(DomainError):
    status, code, message = 422, "implausible_trip", "轨迹无法被该出行方式解释"


class InvalidNight(DomainError):
    status, code, message = 422, "invalid_night", "只能记录昨晚的就寝时间"


class ConsentRequired(DomainError):
    status, code, message = 428, "consent_required", "请先同意当前版本的隐私政策"


class InvalidCode(DomainError):
    status, code, message = 401, "invalid_code", "微信登录凭证无效或已使用"


class RateLimited(DomainError):
    status, code, message = 429, "rate_limited", "请求过于频繁，请稍后再试"


class WechatRiskBlocked(DomainError):
    status, code, message = 403, "wechat_risk_blocked", "微信判定该账号存在风险，暂不能登录"


class WechatUnavailable(DomainError):
    status, code, message = 502, "wechat_unavailable", "微信服务暂不可用，请稍后再试"


class IdempotencyConflict(DomainError):
    status, code, message = 422, "idempotency_conflict", "同一 Idempotency-Key 用于了不同的请求"


class IdempotencyInProgress(DomainError):
    status, code, message = 409, "idempotency_in_progress", "相同 Idempotency-Key 的请求正在处理中"


class ServiceUnavailable(DomainError):
    status, code, message = 503, "service_unavailable", "服务暂不可用，请稍后再试"
