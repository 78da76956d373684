"""GET /api/v1/openapi.json describes the API as built, and /api/v1/docs renders it without a CDN."""

from __future__ import annotations

import re

import pytest

# The document and its rendering are served by the API blueprint but are not operations of the API.
DOC_ENDPOINTS = {"api.openapi_document", "api.api_docs", "api.api_docs_asset"}
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def api_operations(app):
    """(method, OpenAPI path, view function) of every route of the API blueprint."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in DOC_ENDPOINTS:
            continue
        path = re.sub(r"<(?:[^<:>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, app.view_functions[rule.endpoint]


def test_the_document_lists_every_api_route_with_its_success_response(app, document):
    operations = list(api_operations(app))
    assert len(operations) > 30
    undocumented = []
    for method, path, _ in operations:
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            undocumented.append(f"{method} {path}: not in the document")
        elif not any(status.startswith("2") for status in operation["responses"]):
            undocumented.append(f"{method} {path}: no success response (responses={{200: Model}})")
        elif not operation.get("summary"):
            undocumented.append(f"{method} {path}: no summary (the view's docstring)")
    assert undocumented == []


def test_every_protected_operation_declares_bearer_security_and_401(app, document):
    assert {"type": "http", "scheme": "bearer"}.items() <= document["components"]["securitySchemes"]["bearer"].items()
    protected = 0
    for method, path, view in api_operations(app):
        operation = document["paths"][path][method.lower()]
        if getattr(view, "requires_login", False):
            protected += 1
            assert operation["security"] == [{"bearer": []}], f"{method} {path}"
            assert "401" in operation["responses"], f"{method} {path}"
        else:
            assert "security" not in operation, f"{method} {path} is public but documented as protected"
    assert protected > 20


def test_protected_operations_refuse_a_missing_or_wrong_token(app, client, document):
    for method, path, view in api_operations(app):
        if not getattr(view, "requires_login", False):
            continue
        url = "/api/v1" + re.sub(r"\{[^}]+\}", "1", path.removeprefix("/api/v1"))
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
            response = client.open(url, method=method, headers=headers, json={})
            assert response.status_code == 401, f"{method} {url} {headers}"
            assert response.get_json()["error"]["code"] == "unauthorized"


def test_every_error_response_is_the_envelope_with_its_codes(document):
    envelope = document["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema["allOf"][0] == {"$ref": ERROR_REF}, f"{method} {path} {status}"
                codes = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
                assert codes and all(f"`{code}`" in response["description"] for code in codes)


def test_contract_error_codes_are_listed_where_they_happen(document):
    def codes(path, method, status):
        response = document["paths"][path][method]["responses"][status]
        return set(response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]
                   ["properties"]["code"]["enum"])

    assert codes("/api/v1/auth/login", "post", "401") == {"invalid_code"}
    assert codes("/api/v1/auth/login", "post", "428") == {"consent_required"}
    assert codes("/api/v1/auth/login", "post", "502") == {"wechat_unavailable"}
    assert {"implausible_trip", "validation_error", "idempotency_conflict"} <= codes("/api/v1/trips", "post", "422")
    assert codes("/api/v1/trips", "post", "409") == {"daily_limit_reached", "idempotency_in_progress"}
    assert codes("/api/v1/photos", "post", "415") == {"unsupported_image"}
    assert codes("/api/v1/photos", "post", "413") == {"file_too_large"}
    assert {"duplicate_photo", "duplicate_record", "daily_limit_reached"} <= codes("/api/v1/photos", "post", "409")
    assert codes("/api/v1/rewards/{reward_id}/redemptions", "post", "409") >= {"insufficient_points", "out_of_stock"}
    assert "503" in document["paths"]["/api/v1/me"]["get"]["responses"]
    assert "422" not in document["paths"]["/api/v1/factors"]["get"]["responses"]  # takes no input


def test_the_request_schemas_are_the_validators(client, login, document):
    """What the document says about a body is what the server enforces: the same pydantic model."""
    profile = document["components"]["schemas"]["ProfileChanges"]
    assert profile["additionalProperties"] is False and profile["properties"]["nickname"]["anyOf"][0]["maxLength"] == 64
    response = client.patch("/api/v1/me", headers=login(), json={"nickname": "n" * 65})
    assert response.status_code == 422 and response.get_json()["error"]["details"]["field"] == "nickname"
    response = client.patch("/api/v1/me", headers=login(), json={"nickname": "绿", "openid": "x", "role": "admin"})
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "validation_error", "message": "不支持这些字段",
                                            "details": {"unknown_fields": ["openid", "role"]}}


def test_a_photo_upload_is_documented_as_multipart_with_the_file_field(document):
    body = document["paths"]["/api/v1/photos"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    form = document["components"]["schemas"][body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"format": "binary", "type": "string"}.items() <= form["properties"]["file"].items()
    assert set(form["required"]) == {"file", "kind"}


def test_creating_posts_document_the_idempotency_key(document):
    for path in ("/api/v1/trips", "/api/v1/bedtimes", "/api/v1/photos", "/api/v1/rewards/{reward_id}/redemptions"):
        parameters = document["paths"][path]["post"]["parameters"]
        assert {"name": "Idempotency-Key", "in": "header"}.items() <= parameters[-1].items()


def test_the_docs_page_renders_the_document_with_assets_served_here(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "swagger-ui" in html and 'new URL("openapi.json"' in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), f"{asset} would come from another site"
        response = client.get(f"/api/v1/{asset}")  # relative to /api/v1/docs
        assert response.status_code == 200 and len(response.data) > 1000, asset
    assert client.get("/api/v1/swagger/../../../config.py").status_code == 404
