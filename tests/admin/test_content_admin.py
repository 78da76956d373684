"""Admin pages for articles and tips: admins only, every form with CSRF and validation."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Article, AuditEntry, Tip
from tests.admin.factories import csrf_token, jpeg

PAGES = ["/admin/articles", "/admin/articles/new", "/admin/articles/1", "/admin/articles/1/cover", "/admin/tips",
         "/admin/tips/new", "/admin/tips/1"]
POSTS = ["/admin/articles/new", "/admin/articles/1", "/admin/articles/1/delete", "/admin/tips/new", "/admin/tips/1",
         "/admin/tips/1/delete"]


def _text(response) -> str:
    return response.get_data(as_text=True)


def _article_form(**overrides) -> dict:
    return {"title": "什么是碳市场", "category": "market", "summary": "一分钟读懂", "status": "published",
            "markdown": "## 碳市场\n\n<script>alert(1)</script>[原文](javascript:alert(2)) **配额**",
            "publish_at": "", **overrides}


def _post_article(client, url="/admin/articles/new", cover: bytes | None = None, **overrides):
    data = {"csrf_token": csrf_token(client, url), **_article_form(**overrides)}
    if cover is not None:
        data["cover"] = (io.BytesIO(cover), "cover.jpg")
    return client.post(url, data=data, content_type="multipart/form-data")


def _only_article(app) -> Article:
    with app.app_context():
        article = db.session.scalars(sa.select(Article)).one()
        db.session.expunge(article)
        return article


@pytest.mark.parametrize("path", PAGES)
def test_moderators_may_not_edit_content(moderator_client, path):
    assert moderator_client.get(path).status_code == 403


@pytest.mark.parametrize("path", POSTS)
def test_moderators_may_not_post_content_forms(moderator_client, path):
    token = csrf_token(moderator_client, "/admin/reviews")
    assert moderator_client.post(path, data={"csrf_token": token, "title": "x"}).status_code == 403


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_the_csrf_token_are_refused(app, admin_client, path):
    response = admin_client.post(path, data=_article_form())
    assert response.status_code == 400 and "CSRF" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_content_sections_appear_in_the_navigation_for_admins_only(admin_client, moderator_client):
    admin_nav = _text(admin_client.get("/admin/reviews"))
    assert 'href="/admin/articles"' in admin_nav and 'href="/admin/tips"' in admin_nav
    moderator_nav = _text(moderator_client.get("/admin/reviews"))
    assert 'href="/admin/articles"' not in moderator_nav and 'href="/admin/tips"' not in moderator_nav


def test_an_admin_publishes_an_article_with_a_cover_and_the_api_serves_it_sanitised(app, admin_client, client):
    response = _post_article(admin_client, cover=jpeg(7))
    assert response.status_code == 302, _text(response)
    article = _only_article(app)
    assert response.headers["Location"] == f"/admin/articles/{article.id}"
    page = _text(admin_client.get(response.headers["Location"]))
    assert "已保存" in page
    preview = page[page.index('id="preview"'):page.index("</main>")]
    assert "<strong>配额</strong>" in preview and "<script" not in preview and "javascript:" not in preview
    assert f'src="/admin/articles/{article.id}/cover?v=' in page
    body = client.get(f"/api/v1/articles/{article.id}").get_json()
    assert body["title"] == "什么是碳市场" and "<h2>碳市场</h2>" in body["html"]
    assert "<script" not in body["html"] and "javascript:" not in body["html"]
    assert client.get(body["cover_url"]).status_code == 200
    with app.app_context():
        assert "article_saved" in db.session.scalars(sa.select(AuditEntry.action)).all()
    listing = _text(admin_client.get("/admin/articles"))
    assert f'id="article-{article.id}"' in listing and "已发布" in listing


def test_a_draft_and_a_scheduled_article_are_not_in_the_api(app, admin_client, client):
    assert _post_article(admin_client, status="draft").status_code == 302
    assert _post_article(admin_client, title="定时", publish_at="2099-01-01T08:00").status_code == 302
    assert client.get("/api/v1/articles").get_json()["items"] == []
    scheduled = _text(admin_client.get("/admin/articles"))
    assert "草稿" in scheduled and "定时发布" in scheduled and "2099-01-01 08:00" in scheduled


def test_editing_an_article_keeps_the_local_publish_time_and_can_remove_the_cover(app, admin_client):
    _post_article(admin_client, cover=jpeg(8), publish_at="2026-11-20T09:30")
    article = _only_article(app)
    form_page = _text(admin_client.get(f"/admin/articles/{article.id}"))
    assert 'value="2026-11-20T09:30"' in form_page  # shown in Beijing time, as typed
    response = _post_article(admin_client, url=f"/admin/articles/{article.id}", title="改过的标题",
                             publish_at="2026-11-20T09:30", remove_cover="y")
    assert response.status_code == 302
    edited = _only_article(app)
    assert edited.title == "改过的标题" and edited.cover_key is None
    assert edited.publish_at.isoformat() == "2026-11-20T01:30:00+00:00"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "请输入标题"),
    ({"title": "长" * 201}, "标题至多 200 个字符"),
    ({"category": "sports"}, "请选择分类"),
    ({"status": "deleted"}, "请选择状态"),
    ({"markdown": ""}, "请输入正文"),
    ({"publish_at": "next tuesday"}, "请输入有效的日期和时间"),
    ({"markdown": "长" * 30000}, "正文过长"),
])
def test_invalid_articles_are_shown_again_with_the_reason(app, admin_client, overrides, message):
    response = _post_article(admin_client, **overrides)
    assert response.status_code == 422 and message in _text(response)
    assert 'class="form-control is-invalid"' in _text(response) or "is-invalid" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_a_cover_that_is_not_an_image_is_refused_on_the_form(app, admin_client):
    response = _post_article(admin_client, cover=b"GIF89a not what we take")
    assert response.status_code == 415 and "只支持 JPEG、PNG、WebP 或 HEIC" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_deleting_an_article_needs_the_confirmation(app, admin_client, client):
    _post_article(admin_client, cover=jpeg(9))
    article = _only_article(app)
    url = f"/admin/articles/{article.id}/delete"
    token = csrf_token(admin_client, f"/admin/articles/{article.id}")
    unconfirmed = admin_client.post(url, data={"csrf_token": token})
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"] == f"/admin/articles/{article.id}"
    assert client.get(f"/api/v1/articles/{article.id}").status_code == 200
    confirmed = admin_client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/admin/articles"
    assert client.get(f"/api/v1/articles/{article.id}").status_code == 404
    assert admin_client.post(url, data={"csrf_token": token, "confirm": "y"}).status_code == 404


def test_unknown_articles_and_tips_are_404(admin_client):
    for path in ("/admin/articles/999999", "/admin/articles/999999/cover", "/admin/tips/999999"):
        assert admin_client.get(path).status_code == 404


# -- tips --

def _post_tip(client, url="/admin/tips/new", **overrides):
    data = {"csrf_token": csrf_token(client, url), "title": "自带购物袋", "text": "少用一次性塑料袋",
            "kind": "", "potential_co2_g": "12.5", "active": "y", **overrides}
    return client.post(url, data=data)


def test_an_admin_writes_a_tip_and_users_see_it_among_their_suggestions(app, admin_client, client, login):
    response = _post_tip(admin_client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/tips"
    listing = _text(admin_client.get("/admin/tips"))
    assert "自带购物袋" in listing and "12.5 g" in listing and "展示中" in listing
    items = client.get("/api/v1/suggestions", headers=login()).get_json()["items"]
    assert items[-1]["title"] == "自带购物袋" and items[-1]["potential_co2_g"] == 12.5


def test_a_deactivated_tip_is_no_longer_suggested(app, admin_client, client, login):
    _post_tip(admin_client)
    with app.app_context():
        tip_id = db.session.scalar(sa.select(Tip.id))
    edit_page = _text(admin_client.get(f"/admin/tips/{tip_id}"))
    assert 'value="自带购物袋"' in edit_page
    response = _post_tip(admin_client, url=f"/admin/tips/{tip_id}", kind="travel", active="")
    assert response.status_code == 302
    titles = [i["title"] for i in client.get("/api/v1/suggestions", headers=login()).get_json()["items"]]
    assert "自带购物袋" not in titles
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        assert (tip.kind, tip.active) == ("travel", False)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "请输入标题"),
    ({"text": "长" * 501}, "内容至多 500 个字符"),
    ({"kind": "flying"}, "请选择有效的行为"),
    ({"potential_co2_g": "lots"}, "请输入数字"),
    ({"potential_co2_g": "-1"}, "减排量须为不小于 0 的数"),
    ({"potential_co2_g": "1.255"}, "至多两位小数"),
    ({"potential_co2_g": "NaN"}, "减排量须为不小于 0 的数"),
])
def test_invalid_tips_are_shown_again_with_the_reason(app, admin_client, overrides, message):
    response = _post_tip(admin_client, **overrides)
    assert response.status_code == 422 and message in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tip)) == 0


def test_deleting_a_tip(app, admin_client):
    _post_tip(admin_client)
    with app.app_context():
        tip_id = db.session.scalar(sa.select(Tip.id))
    token = csrf_token(admin_client, f"/admin/tips/{tip_id}")
    response = admin_client.post(f"/admin/tips/{tip_id}/delete", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert not re.search(r'id="tip-\d+"', _text(admin_client.get("/admin/tips")))
