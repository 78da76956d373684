"""Idempotency-Key: a retried POST gets the first answer and credits once."""

from tests.api.test_bedtimes import last_night, post_bedtime


def test_a_retry_with_the_same_key_replays_the_first_answer_and_credits_once(client, login):
    headers = login()
    first = post_bedtime(client, headers, "22:00", **{"Idempotency-Key": "retry-1"})
    again = post_bedtime(client, headers, "22:00", **{"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get("/api/v1/ledger", headers=headers).get_json()["items"]) == 1
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 7.8


def test_the_same_key_with_a_different_body_is_422(client, login):
    headers = login()
    post_bedtime(client, headers, "22:00", **{"Idempotency-Key": "k"})
    response = post_bedtime(client, headers, "21:00", **{"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_conflict"


def test_a_final_4xx_is_replayed_too(client, login):
    headers = login()
    first = post_bedtime(client, headers, "22:00", night="2000-01-01", **{"Idempotency-Key": "bad-night"})
    again = post_bedtime(client, headers, "22:00", night="2000-01-01", **{"Idempotency-Key": "bad-night"})
    assert first.status_code == again.status_code == 422
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_keys_belong_to_their_user(client, login):
    a = post_bedtime(client, login("ann"), "22:00", **{"Idempotency-Key": "shared"})
    b = post_bedtime(client, login("ben"), "21:00", **{"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] != b.get_json()["id"]


def test_a_malformed_key_is_refused(client, login):
    for key in ("", "x" * 65, "has space", "中文"):
        response = client.post("/api/v1/bedtimes", headers={**login(), "Idempotency-Key": key},
                               json={"night": last_night(), "bedtime": "22:00"})
        assert response.status_code == 422, key
