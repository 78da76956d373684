"""POST /partner/v1/events: a behaviour an operator saw, pushed in a signed request."""

from __future__ import annotations

from flask import jsonify, request
from flask_openapi3 import Tag
from flask_openapi3.models import Schema
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from app.api.errors import _HTTP_CODES, error_response
from app.api.openapi import refuses
from app.api.schemas import plain
from app.errors import DailyLimitReached, DuplicateRecord, IdempotencyConflict, ValidationFailed
from app.models.partners import Partner, PartnerEvent
from app.partner_api import bp
from app.partner_api.schemas import EVENT_ADAPTER, EventOut, PartnerOut, event_request_body
from app.services import explanations, partners

SECURITY_SCHEME_NAME = "partner_signature"
_EXAMPLE = {"secret": "ps_EXAMPLE-secret-do-not-use", "method": "POST", "path": "/partner/v1/events",
            "timestamp": "1764057600", "nonce": "3f9a0c1e5b7d4a2c9e8f7a6b", "body": b'{"event_id":"ride-1"}'}
SECURITY_SCHEME = {
    "type": "apiKey", "in": "header", "name": "X-Partner-Signature",
    "description": (
        "HMAC-SHA256 request signing with the key id and secret an admin issued (the secret is shown once).\n\n"
        "Send `X-Partner-Key` (key id), `X-Partner-Timestamp` (Unix seconds, within 300 s of the server's "
        "clock), `X-Partner-Nonce` (16-64 of `A-Z a-z 0-9 _ -`, never reused) and `X-Partner-Signature` = "
        "lowercase hex of HMAC-SHA256(secret, string_to_sign), where string_to_sign is these lines joined by "
        "`\\n`: `PARTNER-HMAC-SHA256`, the method, the path with its query (`/partner/v1/events`), the "
        "timestamp, the nonce, and the lowercase hex SHA-256 of the raw body (of the empty string for GET).\n\n"
        "Worked example: secret `{secret}`, `{method} {path}`, timestamp `{timestamp}`, nonce `{nonce}`, body "
        "`{body}` → string_to_sign `{to_sign}` → X-Partner-Signature `{signature}`.\n\n"
        "Refusals: 401 `invalid_signature` (missing header, unknown key, wrong signature), 401 "
        "`stale_timestamp`, 401 `nonce_reused` (a replay: sign again with a new nonce), 403 `partner_suspended`."
    ).format(**{**_EXAMPLE, "body": _EXAMPLE["body"].decode()},
             to_sign=partners.string_to_sign(_EXAMPLE["method"], _EXAMPLE["path"], _EXAMPLE["timestamp"],
                                             _EXAMPLE["nonce"], _EXAMPLE["body"]).replace("\n", "\\n"),
             signature=partners.sign(_EXAMPLE["secret"], _EXAMPLE["method"], _EXAMPLE["path"], _EXAMPLE["timestamp"],
                                     _EXAMPLE["nonce"], _EXAMPLE["body"])),
}
_SIGNED = {"security": [{SECURITY_SCHEME_NAME: []}], "tags": [Tag(name="partner")]}
_SIGNING_REFUSALS = (partners.InvalidSignature, partners.StaleTimestamp, partners.NonceReused,
                     partners.PartnerSuspended)
_REQUEST_BODY, _EVENT_SCHEMAS = event_request_body()
for _name, _definition in _EVENT_SCHEMAS.items():
    bp.components_schemas[_name] = Schema(**_definition)


def signed_path() -> str:
    """The path and query exactly as the partner signed them (no "?" when there is no query)."""
    query = request.query_string.decode("latin-1")
    return request.path + ("?" + query if query else "")


def signed_partner() -> Partner:
    return partners.authenticate(request.method, signed_path(), request.headers, request.get_data(cache=True))


@bp.post("/events", responses={201: EventOut}, openapi_extensions={"requestBody": _REQUEST_BODY}, **_SIGNED)
@refuses(*_SIGNING_REFUSALS, ValidationFailed, partners.UnknownBinding, partners.KindNotAllowed,
         IdempotencyConflict, DuplicateRecord, DailyLimitReached)
def receive_event():
    """Push one behaviour of a user who approved you (a binding); the same event_id again is one credit"""
    partner = signed_partner()  # on the raw bytes, before the body is even parsed
    body = request.get_json(silent=True)
    try:
        EVENT_ADAPTER.validate_python(body)
    except ValidationError as exc:
        refusal = _validation_refusal(exc)
        partners.log_refusal(partner.id, refusal, body if isinstance(body, dict) else None)
        raise refusal from None
    event, replayed = partners.receive_event(partner, body)
    response = jsonify(event_json(event))
    response.status_code = 201
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/me", responses={200: PartnerOut}, **_SIGNED)
@refuses(*_SIGNING_REFUSALS)
def whoami():
    """A signed no-op to check your signing code: who the server takes you for"""
    partner = signed_partner()
    return {"id": partner.id, "name": partner.name, "kinds": partner.kinds, "status": partner.status}


def _validation_refusal(exc: ValidationError) -> ValidationFailed:
    """422 validation_error naming the field, as the mini program API does (the kind's tag left out)."""
    errors = exc.errors(include_url=False)
    unknown = sorted(str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return ValidationFailed("不支持这些字段", details={"unknown_fields": unknown})
    first = errors[0]
    if first["type"] in ("model_type", "model_attributes_type") and len(first["loc"]) <= 1:
        return ValidationFailed("请求体须为 JSON 对象")
    if first["type"].startswith("union_tag"):
        return ValidationFailed(details={"field": "kind", "allowed": list(partners.KINDS)})
    loc = list(first["loc"][1:])
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    return ValidationFailed(details={"field": field, "problem": "required" if first["type"] == "missing"
                                     else first["msg"]})


def event_json(event: PartnerEvent) -> dict:
    record = event.record
    body = {"id": event.id, "event_id": event.event_id, "status": event.status, "kind": event.kind,
            "subtype": event.subtype, "binding_id": event.binding.public_id if event.binding else None,
            "received_at": event.received_at.isoformat()}
    if record is not None:
        body["record"] = {
            "id": record.id, "status": record.status, "quantity": plain(record.quantity), "unit": record.unit,
            "co2_g": record.co2_g, "points": record.points, "verified": record.verified, "source": record.source,
            "factor": {"grams_per_unit": plain(record.factor.grams_per_unit), "unit": record.factor.unit,
                       "version": record.factor.version},
            "daily_cap_applied": bool((record.data or {}).get("daily_cap_applied")),
            "explanation": explanations.explain(record)}
    if event.superseded_record_id is not None:
        body["replaced_user_record"] = True
    return body


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Errors inside this API (a body too large, a bad request) in the JSON envelope, as everywhere."""
    code, message = _HTTP_CODES.get(exc.code or 500, ("http_error", exc.name))
    return error_response(exc.code or 500, code, message)
