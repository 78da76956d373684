"""Factor management (admins only): the catalog with versions and sources, publishing a new version from now
or later, never back-dated, audited; the API and the public dashboard show the catalog in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import AuditEntry, EmissionFactor
from tests.admin.factories import csrf_token
from tests.api.test_bedtimes import post_bedtime

SHANGHAI = ZoneInfo("Asia/Shanghai")  # APP_TIMEZONE in the tests
SEED_SOURCE = "闫婕《“双碳”目标下个人碳账户微信小程序平台构建》表2"


def publish(client, factor: str = "travel:bike", grams: str = "50", source: str = "测试：2026 版交通方法学",
            valid_from: str = "", **extra):
    return client.post("/admin/factors", data={
        "csrf_token": csrf_token(client, "/admin/factors"), "factor": factor, "grams_per_unit": grams,
        "source": source, "valid_from": valid_from, **extra})


def local_minute(delta: timedelta) -> str:
    """A datetime-local value, as the browser sends it (the admin's calendar: APP_TIMEZONE)."""
    return (datetime.now(UTC) + delta).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def catalog(client) -> dict[tuple, dict]:
    return {(f["kind"], f["subtype"]): f for f in client.get("/api/v1/factors").get_json()["items"]}


def versions(app, kind: str = "travel", subtype: str = "bike") -> list[int]:
    with app.app_context():
        return list(db.session.scalars(db.select(EmissionFactor.version).where(
            EmissionFactor.kind == kind, EmissionFactor.subtype == subtype).order_by(EmissionFactor.version)))


def test_a_moderator_cannot_open_or_post_the_factor_catalog(moderator_client):
    assert moderator_client.get("/admin/factors").status_code == 403
    assert "排放因子" not in moderator_client.get("/admin/reviews").get_data(as_text=True)
    token = csrf_token(moderator_client, "/admin/reviews")
    response = moderator_client.post("/admin/factors", data={"csrf_token": token, "factor": "travel:bike",
                                                              "grams_per_unit": "1", "source": "x"})
    assert response.status_code == 403


def test_the_admin_sees_every_factor_with_its_version_and_source(admin_client):
    html = admin_client.get("/admin/factors").get_data(as_text=True)
    assert "排放因子" in admin_client.get("/admin/reviews").get_data(as_text=True)  # in the navigation
    for row in ("factor-travel-bike-v1", "factor-bedtime-none-v1", "factor-recycling-paper-v1"):
        assert f'id="{row}"' in html
    assert SEED_SOURCE in html and "5420 克/千克" in html and "26.92 克/千米" in html


def test_publishing_now_makes_the_new_version_current_for_new_records_and_is_audited(app, admin_client, client,
                                                                                      login):
    ann = login("ann")
    old = post_bedtime(client, ann, "22:00").get_json()
    response = publish(admin_client, factor="bedtime:", grams="80.5", source="测试：睡眠方法学修订")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = admin_client.get("/admin/factors").get_data(as_text=True)
    assert "已发布规范就寝 第 2 版：80.5 克/小时，立即生效" in page
    bedtime = catalog(client)[("bedtime", None)]
    assert (bedtime["grams_per_unit"], bedtime["version"], bedtime["source"]) == (80.5, 2, "测试：睡眠方法学修订")
    new = post_bedtime(client, login("ben"), "22:00").get_json()
    assert (new["co2_g"], new["factor"]["version"]) == (80.5, 2)
    kept = client.get("/api/v1/records", headers=ann).get_json()["items"][0]
    assert (kept["co2_g"], kept["points"], kept["factor"]["version"]) == (old["co2_g"], old["points"], 1)
    assert kept["explanation"] == old["explanation"]
    audit = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "发布排放因子" in audit and "测试：睡眠方法学修订" in audit
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "factor_published"))
        assert entry.details["previous_grams_per_unit"] == "77.6000" and entry.details["version"] == 2


def test_a_version_published_for_later_waits_for_its_start(app, admin_client, client):
    assert publish(admin_client, valid_from=local_minute(timedelta(days=7))).status_code == 302
    assert versions(app) == [1, 2]
    assert catalog(client)[("travel", "bike")]["version"] == 1
    html = admin_client.get("/admin/factors").get_data(as_text=True)
    assert "待生效" in html and "将于" in html
    assert "测试：2026 版交通方法学" not in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("fields, message", [
    ({"valid_from": "2020-01-01T08:00"}, "开始时间不能早于现在"),
    ({"grams": "0"}, "每单位克数须为大于 0"),
    ({"grams": "-3"}, "每单位克数须为大于 0"),
    ({"grams": "abc"}, "每单位克数须为大于 0"),
    ({"grams": "100000.5"}, "不超过 100000"),
    ({"grams": "1.23456"}, "至多 4 位小数"),
    ({"source": ""}, "请填写来源"),
    ({"source": "来" * 256}, "来源至多 255 个字符"),
    ({"factor": "travel:rocket"}, "Not a valid choice"),
])
def test_a_bad_version_is_refused_with_its_reason_and_changes_nothing(app, admin_client, client, fields, message):
    response = publish(admin_client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert versions(app) == [1] and catalog(client)[("travel", "bike")]["grams_per_unit"] == 48


def test_a_version_cannot_start_before_one_already_scheduled(app, admin_client):
    assert publish(admin_client, valid_from=local_minute(timedelta(days=7))).status_code == 302
    response = publish(admin_client, grams="49", valid_from=local_minute(timedelta(days=1)))
    assert response.status_code == 422 and "不早于该因子已发布的最新版本的开始时间" in response.get_data(as_text=True)
    assert versions(app) == [1, 2]


def test_the_form_needs_its_csrf_token(app, admin_client):
    response = admin_client.post("/admin/factors", data={"factor": "travel:bike", "grams_per_unit": "50",
                                                         "source": "x"})
    assert response.status_code in (400, 422) and versions(app) == [1]


def test_the_public_dashboard_shows_the_catalog_in_force_with_sources(admin_client, client):
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="factor-catalog"' in html and SEED_SOURCE in html and "48 克/km" in html
    assert publish(admin_client, source="测试：骑行新方法学").status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "测试：骑行新方法学" in html and "50 克/km" in html and "v2" in html


def test_the_review_page_shows_the_records_explanation(admin_client, pending_photos):
    [record] = pending_photos(1, kind="recycling", material="paper", weight_kg="1.5")
    html = admin_client.get(f"/admin/reviews/{record['id']}").get_data(as_text=True)
    assert 'id="explanation"' in html and "1.5 kg × 5420 g/kg = 8130.00 g" in html
    assert "待审核：审核员确认照片后计入 813.0 积分" in html and SEED_SOURCE in html
