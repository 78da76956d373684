"""An appeal end to end in a real browser: moderator A rejects a photo, the user appeals through the API,
moderator B grants it from the appeals queue, and the API shows the appeal granted and the record credited;
moderator A, who rejected it, is refused."""

from __future__ import annotations

import re

from tests.admin.factories import PASSWORD, create_staff, dev_login, jpeg, upload_photo
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_review_flow import loaded_width


def _log_in(page, live_server: str, username: str, next_path: str) -> None:
    page.goto(f"{live_server}/admin/login?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_a_rejected_photo_is_appealed_and_granted_by_another_moderator(app, live_server, chromium, page,
                                                                       screenshot):
    from playwright.sync_api import expect

    create_staff(app, "mod-a", "moderator")
    create_staff(app, "mod-b", "moderator")
    api = app.test_client()
    headers = dev_login(api, app, "xiaoming")
    record = upload_photo(api, headers, jpeg(505))

    # Moderator A rejects the photo in the browser.
    _log_in(page, live_server, "mod-a", f"/admin/reviews/{record['id']}")
    expect(page).to_have_url(f"{live_server}/admin/reviews/{record['id']}")
    page.get_by_label("驳回原因（必填，用户可见）").fill("照片与所报行为不符")
    page.get_by_role("button", name="驳回").click()
    expect(page.locator(".flash").first).to_contain_text(f"记录 #{record['id']} 已驳回")

    # The user appeals through the API.
    response = api.post("/api/v1/appeals", headers=headers,
                        json={"record_id": record["id"], "text": "这是我在小区垃圾分类点拍的，请再看一下"})
    assert response.status_code == 201, response.get_json()
    appeal = response.get_json()
    assert appeal["status"] == "pending"

    # Moderator A, who rejected it, opens the appeal and is refused.
    page.goto(f"{live_server}/admin/appeals/{appeal['id']}")
    expect(page.locator("#own-rejection")).to_contain_text("申诉须由另一位审核员处理")
    page.get_by_label("处理理由（必填，用户可见）").fill("我再看了一下")
    page.get_by_role("button", name="批准申诉").click()
    expect(page.locator(".flash").first).to_contain_text("申诉须由另一位审核员处理：原决定是你作出的")
    expect(page.locator("#appeal-status")).to_have_text("待处理")
    screenshot("appeal-refused-same-moderator")
    assert api.get(f"/api/v1/appeals/{appeal['id']}", headers=headers).get_json()["status"] == "pending"

    # Moderator B, in a browser of their own, opens the queue and grants it with a reason.
    context_b = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page_b = context_b.new_page()
    errors_b: list[str] = []
    page_b.on("console", lambda message: message.type == "error" and errors_b.append(message.text))
    try:
        _log_in(page_b, live_server, "mod-b", "/admin/appeals")
        expect(page_b).to_have_url(f"{live_server}/admin/appeals")
        expect(page_b.locator("#appeals-summary")).to_contain_text("待处理 1 条")
        row = page_b.locator(f"#appeal-{appeal['id']}")
        expect(row).to_contain_text("照片与所报行为不符")
        row.get_by_role("link", name="处理").click()
        expect(page_b).to_have_url(f"{live_server}/admin/appeals/{appeal['id']}")
        expect(page_b.locator("#first-decision")).to_contain_text("审核员 mod-a 驳回")
        expect(page_b.locator("#appeal-text")).to_contain_text("这是我在小区垃圾分类点拍的")
        photo = page_b.get_by_alt_text(f"申诉照片 #{record['photo']['id']}")
        expect(photo).to_be_visible()
        assert loaded_width(photo) == 480
        expect(page_b.locator("#own-rejection")).to_have_count(0)

        # Granting without a reason is stopped by the browser itself (required): nothing is sent.
        page_b.get_by_role("button", name="批准申诉").click()
        expect(page_b).to_have_url(f"{live_server}/admin/appeals/{appeal['id']}")
        page_b.get_by_label("处理理由（必填，用户可见）").fill("复核后确认为本人实拍，予以通过")
        page_b.get_by_role("button", name="批准申诉").click()
        expect(page_b).to_have_url(f"{live_server}/admin/appeals")
        expect(page_b.locator(".flash").first).to_contain_text(
            f"申诉 #{appeal['id']} 已批准，记录 #{record['id']} 已入账")
        expect(page_b.get_by_text("没有待处理的申诉。")).to_be_visible()
        page_b.goto(f"{live_server}/admin/appeals/{appeal['id']}")
        expect(page_b.locator("#decision")).to_contain_text("复核后确认为本人实拍，予以通过")
        expect(page_b.locator("#appeal-status")).to_have_text("已批准")
        page_b.screenshot(path=str(ARTIFACTS / "appeal-granted.png"), full_page=True)
        assert errors_b == []
    finally:
        context_b.close()

    # The user sees the outcome and the credited record.
    seen = api.get(f"/api/v1/appeals/{appeal['id']}", headers=headers).get_json()
    assert seen["status"] == "granted" and seen["outcome_reason"] == "复核后确认为本人实拍，予以通过"
    assert seen["record"]["id"] == record["id"] and seen["record"]["status"] == "credited"
    records = api.get("/api/v1/records", headers=headers).get_json()["items"]
    assert [(r["id"], r["status"]) for r in records] == [(record["id"], "credited")]
    assert api.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == record["points"]

    # Moderator A reloads: the appeal is decided, by mod-b, and there is nothing left to decide.
    page.reload()
    expect(page.locator("#appeal-status")).to_have_text("已批准")
    expect(page.get_by_role("button", name="批准申诉")).to_have_count(0)
    expect(page.locator("#decision")).to_contain_text("mod-b")
    assert re.search(r"已批准", page.locator("#decision").inner_text())
    # The one refused decision is a 403 answer, which Chromium reports; nothing else went wrong.
    assert set(page.console_errors) <= {"Failed to load resource: the server responded with a status of 403 "
                                        "(FORBIDDEN)"}, page.console_errors
