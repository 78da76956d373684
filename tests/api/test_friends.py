"""好友: invite codes from the share card, mutual friendship, unfriending, and every refusal."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import FriendInvite, Friendship, User


def me(client, headers) -> dict:
    return client.get("/api/v1/me", headers=headers).get_json()["user"]


def invite(client, headers, **extra) -> dict:
    response = client.post("/api/v1/friends/invites", headers={**headers, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def accept(client, headers, code, **extra):
    return client.post("/api/v1/friends", headers={**headers, **extra}, json={"code": code})


def friend_ids(client, headers) -> list[int]:
    body = client.get("/api/v1/friends", headers=headers).get_json()
    return [f["id"] for f in body["items"]]


def make_friends(client, a, b) -> None:
    assert accept(client, b, invite(client, a)["code"]).status_code == 201


def test_an_invite_has_an_unguessable_code_that_expires_in_a_week(client, login):
    headers = login()
    first, second = invite(client, headers), invite(client, headers)
    assert first["code"] != second["code"] and len(first["code"]) >= 20
    expires = datetime.fromisoformat(first["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)


def test_accepting_an_invite_makes_both_users_friends(client, login):
    ann, ben = login("ann"), login("ben")
    response = accept(client, ben, invite(client, ann)["code"])
    assert response.status_code == 201
    friend = response.get_json()
    assert friend["id"] == me(client, ann)["id"] and "friends_since" in friend
    assert friend_ids(client, ben) == [me(client, ann)["id"]]
    assert friend_ids(client, ann) == [me(client, ben)["id"]]


def test_one_share_card_can_make_several_friends(client, login):
    ann, ben, cat = login("ann"), login("ben"), login("cat")
    code = invite(client, ann)["code"]
    assert accept(client, ben, code).status_code == 201
    assert accept(client, cat, code).status_code == 201
    assert sorted(friend_ids(client, ann)) == sorted([me(client, ben)["id"], me(client, cat)["id"]])
    assert friend_ids(client, ben) == [me(client, ann)["id"]]


def test_own_unknown_and_expired_codes_are_422(client, login, app):
    ann, ben = login("ann"), login("ben")
    code = invite(client, ann)["code"]
    own = accept(client, ann, code)
    assert own.status_code == 422
    assert own.get_json()["error"]["code"] == "invalid_invite"
    assert own.get_json()["error"]["details"]["reason"] == "own_invite"
    unknown = accept(client, ben, "no-such-code")
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"]["reason"] == "unknown"
    with app.app_context():
        db.session.execute(sa.update(FriendInvite).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    expired = accept(client, ben, code)
    assert expired.status_code == 422 and expired.get_json()["error"]["details"]["reason"] == "expired"
    assert friend_ids(client, ben) == []


def test_accepting_again_is_409_already_friends(client, login):
    ann, ben = login("ann"), login("ben")
    make_friends(client, ann, ben)
    for headers, code in ((ben, invite(client, ann)["code"]), (ann, invite(client, ben)["code"])):
        response = accept(client, headers, code)
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_friends"
    assert len(friend_ids(client, ann)) == 1


def test_the_body_must_carry_a_code(client, login):
    headers = login()
    for body in ({}, {"code": 5}, {"code": "x", "extra": 1}):
        response = client.post("/api/v1/friends", headers=headers, json=body)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_friends_need_a_login(client):
    assert client.get("/api/v1/friends").status_code == 401
    assert client.post("/api/v1/friends/invites").status_code == 401
    assert client.delete("/api/v1/friends/1").status_code == 401


def test_unfriending_removes_both_directions(client, login, app):
    ann, ben = login("ann"), login("ben")
    make_friends(client, ann, ben)
    response = client.delete(f"/api/v1/friends/{me(client, ann)['id']}", headers=ben)
    assert response.status_code == 204 and response.data == b""
    assert friend_ids(client, ann) == [] and friend_ids(client, ben) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Friendship)) == 0
    # and they can become friends again
    make_friends(client, ann, ben)


def test_unfriending_a_stranger_is_404(client, login):
    ann, ben = login("ann"), login("ben")
    response = client.delete(f"/api/v1/friends/{me(client, ben)['id']}", headers=ann)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/friends/999999999", headers=ann).status_code == 404


def test_a_retried_invite_gets_the_same_code(client, login):
    headers = login()
    first = invite(client, headers, **{"Idempotency-Key": "share-1"})
    again = client.post("/api/v1/friends/invites", headers={**headers, "Idempotency-Key": "share-1"})
    assert again.status_code == 201 and again.get_json() == first
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_retried_accept_replays_its_answer(client, login):
    ann, ben = login("ann"), login("ben")
    code = invite(client, ann)["code"]
    first = accept(client, ben, code, **{"Idempotency-Key": "accept-1"})
    again = accept(client, ben, code, **{"Idempotency-Key": "accept-1"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert accept(client, ben, "other", **{"Idempotency-Key": "accept-1"}).status_code == 422


def test_friends_are_paged_by_cursor(client, login):
    host = login("host")
    code = invite(client, host)["code"]
    guests = [login(f"guest{i}") for i in range(5)]
    for guest in guests:
        assert accept(client, guest, code).status_code == 201
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/friends?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=host).get_json()
        assert len(page["items"]) <= 2
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(me(client, g)["id"] for g in guests) and len(seen) == 5
    assert client.get("/api/v1/friends?limit=101", headers=host).status_code == 422


def test_the_number_of_friends_is_capped(client, login, app, monkeypatch):
    monkeypatch.setitem(app.config, "FRIENDS_MAX", 2)
    host = login("host")
    code = invite(client, host)["code"]
    assert accept(client, login("g1"), code).status_code == 201
    assert accept(client, login("g2"), code).status_code == 201
    refused = accept(client, login("g3"), code)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "friend_limit_reached"
    assert len(friend_ids(client, host)) == 2


def test_a_deleted_account_is_no_ones_friend_and_its_invites_stop_working(client, login, app):
    ann, ben, cat = login("ann"), login("ben"), login("cat")
    code = invite(client, ann)["code"]
    make_friends(client, ben, ann)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == me(client, ann)["id"])
                           .values(deleted_at=datetime.now(UTC)))
        db.session.commit()
    assert friend_ids(client, ben) == []
    response = accept(client, cat, code)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_invite"


@pytest.mark.parametrize("path", ["/api/v1/friends/abc", "/api/v1/friends/-1"])
def test_a_malformed_friend_id_is_404(client, login, path):
    assert client.delete(path, headers=login()).status_code == 404


def test_forgetting_a_deleted_account_erases_its_friendships_and_invites(client, login, app):
    from app.services import friends

    ann, ben = login("ann"), login("ben")
    invite(client, ann)
    make_friends(client, ann, ben)
    with app.app_context():
        friends.forget_user(me(client, ann)["id"])
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Friendship)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FriendInvite)) == 0
    assert friend_ids(client, ben) == []
