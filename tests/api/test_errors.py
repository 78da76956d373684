"""Every API failure, even an unknown path or a crash, answers in the contract's envelope."""

import pytest


def _envelope(response, status, code):
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_unknown_path_is_a_404_envelope(client):
    _envelope(client.get("/api/v1/nowhere"), 404, "not_found")


def test_wrong_method_is_a_405_envelope(client):
    _envelope(client.delete("/api/v1/factors"), 405, "method_not_allowed")


def test_a_body_over_the_limit_is_a_413_envelope(client, login, app):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/api/v1/bedtimes", headers={**login(), "Content-Type": "application/json"},
                           data=big)
    _envelope(response, 413, "file_too_large")


def test_malformed_json_is_a_422_envelope(client, login):
    response = client.post("/api/v1/bedtimes", headers={**login(), "Content-Type": "application/json"},
                           data=b"{not json")
    _envelope(response, 422, "validation_error")


@pytest.fixture
def crashing_app(app):
    from app import create_app
    crashing = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})

    @crashing.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("secret internals")

    return crashing


def test_an_unexpected_error_is_a_clean_500_with_the_request_id_and_no_trace(crashing_app, caplog):
    response = crashing_app.test_client().get("/api/v1/_boom", headers={"X-Request-ID": "req-12345678"})
    error = _envelope(response, 500, "internal_error")
    assert error["details"] == {"request_id": "req-12345678"}
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("secret internals" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/api/v1/factors").headers["X-Request-ID"]) == 32


def test_the_admin_is_not_answered_with_json(client):
    response = client.get("/admin/nowhere")
    assert response.status_code == 404 and not response.is_json


def test_a_value_the_database_cannot_store_is_bad_input_not_an_outage(client, login):
    # PostgreSQL refuses NUL bytes in text (DataError): 422 like any bad input, never 503 "unavailable".
    response = client.post("/api/v1/friends", headers=login(), json={"code": "AB\u0000CD"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] in {"validation_error", "invalid_invite"}
