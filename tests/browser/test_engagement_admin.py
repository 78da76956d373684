"""An admin in a real browser creates a reward and an activity; the mini program's API then offers them;
the public dashboard renders its chart."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.admin.factories import PASSWORD, create_staff, dev_login


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_admin_creates_a_reward_and_an_activity_that_the_api_then_offers(app, live_server, page, screenshot):
    from playwright.sync_api import expect

    create_staff(app, "admin-an", "admin")
    page.goto(f"{live_server}/admin/login")
    page.get_by_label("用户名").fill("admin-an")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/admin/"))

    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    page.goto(f"{live_server}/admin/rewards/new")
    page.get_by_label("名称").fill("地铁 5 元乘车券")
    page.get_by_label("说明").fill("上海地铁任意线路抵扣 5 元")
    page.get_by_label("所需积分").fill("50.0")
    page.get_by_label("库存总量").fill("20")
    page.get_by_label("开始时间").fill(_local(now - timedelta(hours=1)))
    page.get_by_label("截止时间").fill(_local(now + timedelta(days=30)))
    page.locator("#save-reward").click()
    expect(page.locator(".flash").first).to_contain_text("已新建奖励「地铁 5 元乘车券」")
    screenshot("admin-rewards")

    page.goto(f"{live_server}/admin/activities/new")
    page.get_by_label("标题").fill("世纪公园清洁日")
    page.get_by_label("地址").fill("上海市浦东新区锦绣路 1001 号")
    page.get_by_label("纬度").fill("31.2165")
    page.get_by_label("经度").fill("121.5459")
    page.get_by_label("开始时间（北京时间）").fill(_local(now + timedelta(days=3)))
    page.get_by_label("结束时间（北京时间）").fill(_local(now + timedelta(days=3, hours=3)))
    page.get_by_label("名额").fill("30")
    page.get_by_label("签到积分").fill("20")
    page.locator("#save").click()
    expect(page.locator(".flash").first).to_contain_text("活动《世纪公园清洁日》已保存")
    screenshot("admin-activity")

    api = app.test_client()
    headers = dev_login(api, app, "xiaolv")
    offered = api.get("/api/v1/rewards", headers=headers).get_json()["items"]
    assert [(r["title"], r["cost_points"], r["stock_left"]) for r in offered] == [("地铁 5 元乘车券", 50, 20)]
    nearby = api.get("/api/v1/activities?lat=31.2304&lng=121.4737", headers=headers).get_json()["items"]
    assert [(a["title"], a["capacity"], a["spots_left"]) for a in nearby] == [("世纪公园清洁日", 30, 30)]
    assert 5 < nearby[0]["distance_km"] < 9  # People's Square to Century Park


def test_the_public_dashboard_shows_totals_and_the_30_day_chart(app, live_server, page, screenshot):
    from playwright.sync_api import expect

    api = app.test_client()
    headers = dev_login(api, app, "sleeper")
    night = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()
    assert api.post("/api/v1/bedtimes", headers=headers, json={"night": night, "bedtime": "22:00"}).status_code == 201

    page.goto(f"{live_server}/dashboard")
    expect(page.locator("svg").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("77.6")
    screenshot("public-dashboard")
