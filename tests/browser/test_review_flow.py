"""A moderator in a real browser: logs in, approves one photo and rejects another from the queue."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import Photo, Record
from tests.admin.factories import PASSWORD, create_staff, dev_login, jpeg, upload_photo


def loaded_width(image) -> int:
    """The image's natural width once the browser has finished loading it (a busy server may be slow)."""
    image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                                 timeout=10_000)
    return image.evaluate("img => img.naturalWidth")


def _statuses(app, ids) -> dict[int, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(sa.select(Record.id, Record.status, Record.reject_reason)
                                  .where(Record.id.in_(ids))).all()
        return {row.id: (row.status, row.reject_reason) for row in rows}


def test_moderator_approves_and_rejects_from_the_queue(app, live_server, page, screenshot):
    from playwright.sync_api import expect

    create_staff(app, "mod-mei", "moderator")
    api = app.test_client()
    first = upload_photo(api, dev_login(api, app, "xiaoming"), jpeg(101))
    second = upload_photo(api, dev_login(api, app, "xiaohong"), jpeg(202), kind="recycling", material="paper",
                          weight_kg="3.2")

    page.goto(f"{live_server}/admin/reviews")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/reviews$"))
    page.get_by_label("用户名").fill("mod-mei")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(f"{live_server}/admin/reviews")
    expect(page.locator("#nav-pending")).to_have_text("2")
    expect(page.locator("#queue-summary")).to_contain_text("待审核 2 条")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    assert loaded_width(page.locator(f"#queue-{first['id']} img")) == 480
    screenshot("queue")

    rows.first.get_by_role("link", name="审核").click()
    expect(page).to_have_url(f"{live_server}/admin/reviews/{first['id']}")
    photo = page.get_by_alt_text(f"待审核照片 #{first['photo']['id']}")
    expect(photo).to_be_visible()
    assert loaded_width(photo) == 480
    page.get_by_role("button", name="通过").click()

    # On to the next pending item, with the outcome of the first.
    expect(page).to_have_url(f"{live_server}/admin/reviews/{second['id']}")
    expect(page.locator(".flash")).to_contain_text(f"记录 #{first['id']} 已通过")
    expect(page.locator("#nav-pending")).to_have_text("1")
    expect(page.get_by_label("重量（千克），称重有误时可更正")).to_have_value("3.200")

    # Rejecting without a reason is stopped by the browser itself (required), nothing is sent.
    page.get_by_role("button", name="驳回").click()
    expect(page).to_have_url(f"{live_server}/admin/reviews/{second['id']}")
    assert _statuses(app, [second["id"]])[second["id"]][0] == "pending"
    page.get_by_label("驳回原因（必填，用户可见）").fill("照片与所报行为不符")
    screenshot("review")
    page.get_by_role("button", name="驳回").click()

    expect(page).to_have_url(f"{live_server}/admin/reviews")
    expect(page.locator(".flash").first).to_contain_text(f"记录 #{second['id']} 已驳回：照片与所报行为不符")
    expect(page.locator(".flash").nth(1)).to_contain_text("待审核队列已清空")
    expect(page.locator("#nav-pending")).to_have_text("0")
    expect(page.get_by_text("没有待审核的照片。")).to_be_visible()
    screenshot("queue-done")

    assert _statuses(app, [first["id"], second["id"]]) == {
        first["id"]: ("credited", None), second["id"]: ("rejected", "照片与所报行为不符")}

    # Log out from the user menu (a POST form with its CSRF token, opened by Bootstrap's own JS).
    page.locator("#user-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(f"{live_server}/admin/login")
    expect(page.locator(".flash")).to_contain_text("已退出登录")
    page.goto(f"{live_server}/admin/reviews")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    assert page.console_errors == []


def test_a_tablet_shows_the_photo_beside_its_nearest_earlier_photo(app, live_server, page, screenshot):
    from playwright.sync_api import expect

    create_staff(app, "mod-mei", "moderator")
    api = app.test_client()
    original = upload_photo(api, dev_login(api, app, "xiaogang"), jpeg(303))
    copy = upload_photo(api, dev_login(api, app, "xiaoli"), jpeg(404))
    # What the upload service records for a copy it cannot prove (a crop, a screenshot): the suspect.
    # Set here directly, so this test does not depend on the duplicate detector's thresholds.
    with app.app_context():
        db.session.execute(sa.update(Photo).where(Photo.id == copy["photo"]["id"])
                           .values(suspected_original_id=original["photo"]["id"], suspected_distance=9))
        db.session.commit()
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(f"{live_server}/admin/login?next=/admin/reviews/{copy['id']}")
    page.get_by_label("用户名").fill("mod-mei")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server}/admin/reviews/{copy['id']}")

    earlier = page.locator("#similar").get_by_alt_text(f"相似照片 #{original['photo']['id']}")
    expect(earlier).to_be_visible()
    assert loaded_width(earlier) == 480
    expect(page.locator("#similar")).to_contain_text(f"记录 #{original['id']}")
    expect(page.locator("#similar")).to_contain_text("疑似原图")
    expect(page.locator("#suspected")).to_contain_text(f"照片 #{original['photo']['id']}")
    # Photo and decision side by side, nothing wider than the screen (no sideways scrolling).
    photo_box = page.get_by_alt_text(f"待审核照片 #{copy['photo']['id']}").bounding_box()
    approve_box = page.get_by_role("button", name="通过").bounding_box()
    assert approve_box["x"] > photo_box["x"] + photo_box["width"] and approve_box["y"] < 1024
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    screenshot("review-tablet")

    page.set_viewport_size({"width": 600, "height": 960})  # narrower: the navbar folds into its toggler
    expect(page.get_by_role("link", name=re.compile("审核队列"))).to_be_hidden()
    page.get_by_label("展开导航").click()
    expect(page.get_by_role("link", name=re.compile("审核队列"))).to_be_visible()
    assert page.console_errors == []
