"""Suggestions: behaviours the user rarely records, priced at the factors in force; admin tips; the weekly digest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.extensions import db
from app.models import EmissionFactor, Tip
from app.services import clock
from tests.api.test_stats import make_record

# Grams a week at the seed's factors: 2 × 3 km × 48, 2 × 10 km × 46.8, 0.5 kg × 5420, 3 × 1 h × 77.6, …
EVERYTHING = {"短途骑车代替开车": Decimal("288.00"), "乘公共交通通勤": Decimal("936.00"),
              "回收废纸和纸箱": Decimal("2710.00"), "早睡一小时": Decimal("232.80"),
              "厨余垃圾分类投放": Decimal("204.00"), "少点外卖": Decimal("192.00")}


def user_id(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["user"]["id"]


def suggestions(client, headers) -> list[dict]:
    response = client.get("/api/v1/suggestions", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_new_user_gets_every_suggestion_most_grams_first(client, login):
    items = suggestions(client, login())
    assert {i["title"]: Decimal(str(i["potential_co2_g"])) for i in items} == EVERYTHING
    grams = [i["potential_co2_g"] for i in items]
    assert grams == sorted(grams, reverse=True)
    bike = next(i for i in items if i["kind"] == "travel" and "骑" in i["title"])
    assert "288" in bike["text"] and bike["period"] == "week" and bike["source"] == "personal"
    assert set(items[0]) >= {"title", "text", "kind", "potential_co2_g"}


def test_behaviours_recorded_about_weekly_are_not_suggested(app, client, login):
    headers = login()
    me = user_id(client, headers)
    with app.app_context():
        today = clock.local_day(clock.now())
    for days_ago in (0, 6, 13, 20):
        make_record(app, me, "travel", "bike", "3", today - timedelta(days=days_ago))
    for days_ago in (1, 2, 3):  # three meals: still "rarely"
        make_record(app, me, "meal", None, "1", today - timedelta(days=days_ago))
    titles = {i["title"] for i in suggestions(client, headers)}
    assert "短途骑车代替开车" not in titles and "少点外卖" in titles


def test_records_older_than_30_days_do_not_count(app, client, login):
    headers = login()
    me = user_id(client, headers)
    with app.app_context():
        today = clock.local_day(clock.now())
    for days_ago in (30, 31, 32, 33):
        make_record(app, me, "recycling", "paper", "1", today - timedelta(days=days_ago))
    assert "回收废纸和纸箱" in {i["title"] for i in suggestions(client, headers)}


def test_late_nights_bring_a_bedtime_suggestion_even_to_regular_recorders(app, client, login):
    headers = login()
    me = user_id(client, headers)
    with app.app_context():
        today = clock.local_day(clock.now())
    for night, minutes in ((1, 60), (2, 0), (3, 0), (4, 30), (5, 0)):  # 0 minutes early: after 23:00
        make_record(app, me, "bedtime", None, str(minutes), today - timedelta(days=night))
    bedtime = next(i for i in suggestions(client, headers) if i["kind"] == "bedtime")
    assert bedtime["text"].startswith("最近 30 天有 3 晚在 23:00 之后入睡")
    assert Decimal(str(bedtime["potential_co2_g"])) == Decimal("232.80")


def test_suggestions_use_the_factors_in_force_now(app, client, login):
    with app.app_context():
        db.session.add(EmissionFactor(kind="travel", subtype="bike", version=2, grams_per_unit=Decimal("50"),
                                      unit="km", valid_from=clock.now() - timedelta(minutes=1), source="test"))
        db.session.commit()
    bike = next(i for i in suggestions(client, login()) if i["title"] == "短途骑车代替开车")
    assert Decimal(str(bike["potential_co2_g"])) == Decimal("300.00")  # 2 × 3 km × 50 g


def test_active_admin_tips_follow_the_personal_suggestions(app, client, login):
    with app.app_context():
        db.session.add_all([
            Tip(title="自带购物袋", text="少用一次性塑料袋", kind=None, potential_co2_g=Decimal("12.50")),
            Tip(title="已停用", text="不展示", active=False)])
        db.session.commit()
    items = suggestions(client, login())
    assert [i["title"] for i in items[-1:]] == ["自带购物袋"] and items[-1]["source"] == "tip"
    assert Decimal(str(items[-1]["potential_co2_g"])) == Decimal("12.50")
    assert "已停用" not in {i["title"] for i in items}


def test_suggestions_need_a_login(client):
    response = client.get("/api/v1/suggestions")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


# -- the weekly digest (flask send-digest) --

def wechat_login(app, client, fake_wechat, openid: str) -> dict:
    code = fake_wechat.issue_code(openid)
    body = client.post("/api/v1/auth/login", json={"code": code,
                                                   "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()
    return {"Authorization": f"Bearer {body['token']}"}


def run_digest(app, template_id):
    app.config["WECHAT_DIGEST_TEMPLATE_ID"] = template_id
    try:
        return app.test_cli_runner().invoke(args=["send-digest"])
    finally:
        app.config["WECHAT_DIGEST_TEMPLATE_ID"] = None


def test_without_a_digest_template_the_command_says_so_and_sends_nothing(app, fake_wechat, login):
    login()
    before = len(fake_wechat.messages)
    result = run_digest(app, None)
    assert result.exit_code == 0 and "WECHAT_DIGEST_TEMPLATE_ID" in result.output
    assert len(fake_wechat.messages) == before


def test_the_digest_sends_each_wechat_user_their_week_and_top_suggestion(app, client, login, fake_wechat):
    headers = wechat_login(app, client, fake_wechat, "openid-digest")
    me = user_id(client, headers)
    login("dev-only")  # development logins have no real openid: skipped
    with app.app_context():
        today = clock.local_day(clock.now())
    make_record(app, me, "travel", "bike", "5", today)                           # 240.00
    make_record(app, me, "meal", None, "1", today - timedelta(days=6))          # 96.00
    make_record(app, me, "meal", None, "1", today - timedelta(days=7))          # last week
    before = len(fake_wechat.messages)
    result = run_digest(app, "tmpl-digest")
    assert result.exit_code == 0, result.output
    assert "digests sent: 1" in result.output
    sent = fake_wechat.messages[before:]
    assert [m["touser"] for m in sent] == ["openid-digest"] and sent[0]["template_id"] == "tmpl-digest"
    assert sent[0]["data"]["number1"]["value"] == "336.00"
    assert sent[0]["data"]["thing2"]["value"] == "回收废纸和纸箱"  # the most grams a week
    assert sent[0]["data"]["date3"]["value"] == f"{today.year}年{today.month}月{today.day}日"


def test_a_user_without_a_subscription_left_is_counted_and_the_rest_still_get_theirs(
        app, client, fake_wechat):
    wechat_login(app, client, fake_wechat, "openid-no-subscription")
    wechat_login(app, client, fake_wechat, "openid-subscribed")
    with app.app_context():
        app.extensions["wechat"].access_token()  # cached, so the scripted refusal hits the first message
    fake_wechat.fail_next(43101, "user refuse to accept the msg")
    before = len(fake_wechat.messages)
    result = run_digest(app, "tmpl-digest")
    assert result.exit_code == 0
    assert "digests sent: 1; no subscription left: 1; failed: 0" in result.output
    assert [m["touser"] for m in fake_wechat.messages[before:]] == ["openid-subscribed"]
