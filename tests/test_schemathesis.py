"""Schemathesis fuzzes every operation from the API's own OpenAPI document: no 500, no response outside
its documented statuses and schema, and no protected operation that answers without a valid token.

Driven through Hypothesis directly: schemathesis' lazy pytest fixture (`from_fixture`) does not run
under pytest 9.2 (it sets `Function._nodeid`, which pytest 9 no longer has)."""

from __future__ import annotations

import io
import itertools
import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance, ignored_auth, response_schema_conformance, status_code_conformance,
)

from tests import tracks
from tests.api.test_activities import make_activity
from tests.api.test_bedtimes import post_bedtime
from tests.api.test_content import save as save_article
from tests.api.test_rewards import give_points, make_reward, user_id
from tests.api.test_trips import hours_ago, post_trip
from tests.photos import jpeg, scene_photo

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth]
# Operations that end the caller's session or account get a user of their own for each example.
ENDS_SESSION = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/me")}
# Bounded (CI runs this on three databases) and the same examples on every run.
FUZZ = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def give_the_user_one_of_everything(app, client, login, headers) -> dict[str, int]:
    """A record of each kind, a ledger, a redemption, a sign-up, a friend, an article: list and detail
    answers then carry items whose every field the response schemas check. Returns their ids, by the
    names of the path parameters that address them."""
    assert post_bedtime(client, headers, "22:00").status_code == 201
    assert post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(3))).status_code == 201
    photo = client.post("/api/v1/photos", headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(jpeg(scene_photo())), "paper.jpg"), "kind": "recycling", "material": "paper",
        "weight_kg": "1.5"})
    assert photo.status_code == 201, photo.get_json()
    give_points(app, user_id(client, headers), "100.0")
    reward_id = make_reward(app)
    assert client.post(f"/api/v1/rewards/{reward_id}/redemptions", headers=headers).status_code == 201
    activity_id, _ = make_activity(app)
    assert client.post(f"/api/v1/activities/{activity_id}/signups", headers=headers).status_code == 201
    invite = client.post("/api/v1/friends/invites", headers=login("fuzz-friend")).get_json()
    friend = client.post("/api/v1/friends", headers=headers, json={"code": invite["code"]})
    assert friend.status_code == 201
    refused = post_trip(client, headers, tracks.realistic_track("bike", km=5.0, start=hours_ago(6), cruise_kmh=50,
                                                                seed=9, route_seed=9))
    assert "refusal_id" in refused.get_json()["error"].get("details", {}), refused.get_json()
    appeal = client.post("/api/v1/appeals", headers=headers, json={
        "trip_refusal_id": refused.get_json()["error"]["details"]["refusal_id"], "text": "电助力自行车"})
    assert appeal.status_code == 201, appeal.get_json()
    return {"photo_id": photo.get_json()["photo"]["id"], "reward_id": reward_id, "activity_id": activity_id,
            "user_id": friend.get_json()["id"], "article_id": save_article(app), "appeal_id": appeal.get_json()["id"]}


def test_every_operation_keeps_its_documented_contract_under_fuzzing(app, client, login):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = login("fuzz")
    known_ids = give_the_user_one_of_everything(app, client, login, headers)
    fresh_users = (f"fuzz{n}" for n in itertools.count())
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Random ids mostly miss, so operations on one object are also fuzzed on the objects made above.
        addressed = {name: known_ids[name] for name in re.findall(r"{(\w+)}", operation.path) if name in known_ids}
        runs = [(GenerationMode.POSITIVE, {}), (GenerationMode.NEGATIVE, {})]
        if addressed:
            runs.append((GenerationMode.POSITIVE, addressed))
        for mode, path_parameters in runs:

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            def fuzz(case):
                ends_session = (case.operation.method.upper(), case.operation.path) in ENDS_SESSION
                case.call_and_validate(headers=login(next(fresh_users)) if ends_session else headers, checks=CHECKS)

            try:
                fuzz()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # the operation takes nothing that could be wrong
            except FailureGroup as found:  # every operation's findings in one report, not just the first
                failures += [f"{operation.label} ({mode.value}{path_parameters or ''}): {f.title}: {f.message}"
                             for f in found.exceptions]
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}{path_parameters or ''}): {error!r}")
    assert not failures, "\n\n".join(failures)
