"""The OpenAPI document of the JSON API, generated from the pydantic models that validate its requests.

Views say what they take (`body:`, `query:`, `path:`, `form:` models) and what they answer
(`responses={201: RecordOut}`); the decorators they already wear say the rest: `login_required` adds the
bearer security and 401, `idempotent` the Idempotency-Key header and its refusals, `refuses(...)` the
domain errors the view's services raise. So the document cannot drift from what the code does.
"""

from __future__ import annotations

from collections import defaultdict
from functools import wraps
from typing import Any, get_type_hints

from flask import make_response, request
from flask_openapi3 import APIBlueprint, Info, OpenAPI, Tag
from flask_openapi3.models import Parameter, Schema
from flask_openapi3.utils import get_model_schema, parse_rule
from pydantic import BaseModel, Field, ValidationError

from app.api.errors import error_response
from app.errors import DomainError, IdempotencyConflict, IdempotencyInProgress, RateLimited, ServiceUnavailable
from app.errors import Unauthorized, ValidationFailed

BEARER = "bearer"
SECURITY_SCHEMES = {BEARER: {"type": "http", "scheme": "bearer",
                             "description": "The token from POST /api/v1/auth/login: `Authorization: Bearer <token>`."}}
INPUTS = ("header", "path", "query", "form", "body")


class BodyTooLarge(DomainError):
    """Werkzeug's 413 beyond MAX_CONTENT_LENGTH, as app.api.errors renders it (documented, never raised)."""

    status, code, message = 413, "file_too_large", "请求体过大"


class ErrorBody(BaseModel):
    code: str = Field(description="snake_case and stable: clients branch on it")
    message: str = Field(description="human readable (Chinese)")
    details: dict[str, Any] | None = Field(None, description="what exactly was refused, when it helps")


class Error(BaseModel):
    """Every failure's body: the envelope {"error": {"code", "message", "details"?}}."""

    error: ErrorBody


def refuses(*refusals: type[DomainError]):
    """Document the domain errors a view's services raise (401, 422 validation and the idempotency
    refusals come with login_required, input models and idempotent)."""

    def mark(view):
        view.refusals = (*getattr(view, "refusals", ()), *refusals)
        return view

    return mark


def _error_responses(refusals: list[type[DomainError]]) -> dict[str, dict]:
    """One response per status, listing its codes: in the description for people, as an enum for tools."""
    by_status: dict[int, dict[str, str]] = defaultdict(dict)
    for refusal in refusals:
        by_status[refusal.status].setdefault(refusal.code, refusal.message)
    return {str(status): {
        "description": " | ".join(f"`{code}` {message}" for code, message in codes.items()),
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string", "enum": list(codes)}}}}}]}}}}
        for status, codes in sorted(by_status.items())}


class ApiBlueprint(APIBlueprint):
    """An APIBlueprint that reads the security and refusals of each operation off its decorators."""

    def __init__(self, *args, **kwargs):
        # operationId = the view's name, as in the endpoint name (api.record_trip -> record_trip)
        super().__init__(*args, operation_id_callback=lambda name, path, method: name, **kwargs)
        schema = get_model_schema(Error, mode="serialization")
        for name, definition in schema.pop("$defs", {}).items():
            self.components_schemas[name] = Schema(**definition)
        self.components_schemas["Error"] = Schema(**schema)

    def _collect_openapi_info(self, rule, func, *, responses=None, security=None, tags=None, doc_ui=True,
                              **kwargs):
        if not (doc_ui and self.doc_ui):
            return super()._collect_openapi_info(rule, func, responses=responses, security=security,
                                                 tags=tags, doc_ui=doc_ui, **kwargs)
        # Grouped in the rendering by the module that holds the view: account, trips, rewards ...
        tags = tags or [Tag(name=func.__module__.rsplit(".", 1)[-1])]
        refusals: list[type[DomainError]] = [RateLimited, ServiceUnavailable]
        if getattr(func, "requires_login", False):
            security = [{BEARER: []}]
            refusals.append(Unauthorized)
        inputs = get_type_hints(func)
        if "<" in rule or any(name in inputs for name in INPUTS):
            refusals.append(ValidationFailed)
        if "body" in inputs or "form" in inputs:
            refusals.append(BodyTooLarge)
        idempotent = getattr(func, "idempotent", False)
        if idempotent:
            refusals += [ValidationFailed, IdempotencyConflict, IdempotencyInProgress]
        refusals += getattr(func, "refusals", ())
        result = super()._collect_openapi_info(
            rule, func, responses={**_error_responses(refusals), **(responses or {})}, security=security,
            tags=tags, doc_ui=doc_ui, **kwargs)
        if idempotent:
            operation = getattr(self.paths[parse_rule(rule, url_prefix=self.url_prefix)], kwargs["method"].lower())
            operation.parameters = [*(operation.parameters or []), Parameter(**{
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "1–64 visible ASCII characters: a retry with the same key and body gets the first "
                               "answer again and changes nothing (keys live at least 24 h)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]{1,64}$"}})]
        return result

    @staticmethod
    def create_view_func(func, header, cookie, path, query, form, body, raw, **kwargs):
        """flask-openapi3 hands a view its URL values only through a `path:` model; a plain view
        (`def revoke(binding_id: str)`) still gets them as arguments."""
        if path is None:
            plain_view = func

            @wraps(plain_view)
            def func(**validated):
                return plain_view(**validated, **(request.view_args or {}))

        return APIBlueprint.create_view_func(func, header, cookie, path, query, form, body, raw, **kwargs)


def validation_failed_response(exc: ValidationError):
    """A request that does not fit its model, as the envelope: 422 validation_error naming the field."""
    errors = exc.errors(include_url=False)
    unknown = sorted(".".join(map(str, e["loc"])) for e in errors if e["type"] == "extra_forbidden")
    first = errors[0]
    if unknown:
        refusal = ValidationFailed("不支持这些字段", details={"unknown_fields": unknown})
    elif not first["loc"]:
        refusal = ValidationFailed("请求体须为 JSON 对象")
    else:
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]).lstrip(".")
        problem = "required" if first["type"] == "missing" else first["msg"]
        refusal = ValidationFailed(details={"field": field, "problem": problem})
    return make_response(error_response(refusal.status, refusal.code, refusal.message, refusal.details))


class ApiApp(OpenAPI):
    """The Flask app, with the API's OpenAPI document (served by app.api.docs, not by flask-openapi3's UI)."""

    def __init__(self, import_name: str, **kwargs):
        self._sync_functions: dict = {}  # see ensure_sync
        super().__init__(
            import_name, info=Info(title="个人碳账户 API", version="1",
                                   description="The mini program's JSON API (contract: API.md). Every failure is "
                                               "the `Error` envelope with the status and code listed per operation."),
            security_schemes=SECURITY_SCHEMES, doc_ui=False,
            validation_error_callback=validation_failed_response, **kwargs)

    def ensure_sync(self, func):
        """Flask asks this of every hook and view on every request (an inspect of the function's code
        flags each time, seven times for GET /me); the answer never changes, so it is kept."""
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: asked each time
            return super().ensure_sync(func)

    @property
    def validate_response(self) -> bool:
        """Under test, every JSON answer is validated against its documented model (a mismatch is a 500
        the test sees), so the whole suite checks that the document matches what the code returns."""
        return self.testing

    @validate_response.setter
    def validate_response(self, value) -> None:
        pass  # decided by TESTING above, not by the constructor

    def generate_spec_json(self):
        """flask-openapi3 gives every operation without a 422 its own validation-error array; ours all
        answer with the envelope, and an operation that takes no input has no 422 to document."""
        super().generate_spec_json()
        name = self.validation_error_model.__name__
        for path_item in self.spec_json["paths"].values():
            for operation in path_item.values():
                schema = operation["responses"].get("422", {}).get("content", {}).get("application/json", {})
                if schema.get("schema", {}).get("items", {}).get("$ref", "").endswith(f"/{name}"):
                    del operation["responses"]["422"]
        self.spec_json["components"]["schemas"].pop(name, None)
