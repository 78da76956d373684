"""Articles: Markdown rendered to sanitised HTML when saved, published ones served to anyone, newest first."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from app.errors import NotFound
from app.services import content
from app.services.images import UnsupportedImage
from app.services.content import ArticleInput


def save(app, title="双碳目标解读", category="policy", markdown="# 标题\n\n正文", status="published",
         publish_at=None, cover=None, article_id=None) -> int:
    with app.app_context():
        article = content.save_article(article_id, ArticleInput(title, category, "摘要", markdown, status, publish_at),
                                       staff_id=None, cover=cover)
        return article.id


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (320, 200), (40, 160, 90))
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 13.0, 0.0)}  # GPSInfo: latitude
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


HOSTILE = """# 低碳出行

<script>alert("xss")</script>
<img src="https://example.com/x.png" onerror="alert(1)">
<img src="javascript:alert(2)">
[点我](javascript:alert(3)) and <a href="JaVaScRiPt:alert(4)">this</a> and <a href="/relative">rel</a>
<p style="position:fixed" onclick="steal()">styled</p>
<iframe src="https://evil.example"></iframe>
<svg><script>alert(5)</script></svg>
[政策原文](https://www.gov.cn/zhengce/) and ![图](http://example.com/a.png "图")

| 方式 | 因子 |
|:--|--:|
| 自行车 | 48 |

> 引用 **粗体** *斜体* `code`
"""


def test_article_html_drops_script_event_handlers_and_javascript_links():
    html = content.render_markdown(HOSTILE)
    lowered = html.lower()
    assert "<script" not in lowered and "alert(\"xss\")" not in lowered and "alert(5)" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert "javascript:" not in lowered
    assert "style=" not in lowered and "<iframe" not in lowered and "<svg" not in lowered
    assert 'href="/relative"' not in html  # only absolute http(s) URLs mean something in the mini program
    # What the mini program's <rich-text> shows survives.
    assert "<h1>低碳出行</h1>" in html
    assert '<a href="https://www.gov.cn/zhengce/" rel="noopener noreferrer">政策原文</a>' in html
    assert '<img alt="图" src="http://example.com/a.png" title="图">' in html
    assert '<img src="https://example.com/x.png">' in html
    assert "<table>" in html and '<td align="right">48</td>' in html
    assert "<blockquote>" in html and "<strong>粗体</strong>" in html and "<code>code</code>" in html


def test_the_api_serves_the_html_sanitised_when_the_article_was_saved(app, client):
    article_id = save(app, markdown=HOSTILE)
    body = client.get(f"/api/v1/articles/{article_id}").get_json()
    assert "<script" not in body["html"] and "onerror" not in body["html"] and "javascript:" not in body["html"]
    assert body["title"] == "双碳目标解读" and body["category"] == "policy" and body["cover_url"] is None


def test_articles_are_public_newest_first_by_category_and_paged(app, client):
    now = datetime.now(UTC)
    ids = [save(app, title=f"文章{i}", category="tips" if i % 2 else "policy", publish_at=now - timedelta(hours=i))
           for i in range(5)]
    listing = client.get("/api/v1/articles")
    assert listing.status_code == 200 and "public" in listing.headers["Cache-Control"]
    assert [a["id"] for a in listing.get_json()["items"]] == ids  # newest publish time first
    tips = client.get("/api/v1/articles?category=tips").get_json()["items"]
    assert [a["id"] for a in tips] == [ids[1], ids[3]]
    first = client.get("/api/v1/articles?limit=2").get_json()
    assert [a["id"] for a in first["items"]] == ids[:2] and first["next_cursor"]
    second = client.get(f"/api/v1/articles?limit=2&cursor={first['next_cursor']}").get_json()
    third = client.get(f"/api/v1/articles?limit=2&cursor={second['next_cursor']}").get_json()
    assert [a["id"] for a in second["items"] + third["items"]] == ids[2:] and third["next_cursor"] is None
    assert "html" not in first["items"][0]


def test_drafts_and_articles_scheduled_for_later_are_not_served(app, client):
    draft = save(app, status="draft")
    later = save(app, publish_at=datetime.now(UTC) + timedelta(days=1))
    assert client.get("/api/v1/articles").get_json()["items"] == []
    for article_id in (draft, later, 999999):
        response = client.get(f"/api/v1/articles/{article_id}")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_publishing_without_a_time_publishes_now(app, client):
    article_id = save(app, publish_at=None)
    assert [a["id"] for a in client.get("/api/v1/articles").get_json()["items"]] == [article_id]


@pytest.mark.parametrize("query", ["category=sports", "limit=0", "limit=101", "cursor=bm9wZQ"])
def test_bad_listing_parameters_are_422(client, query):
    response = client.get(f"/api/v1/articles?{query}")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_the_cover_is_served_publicly_without_its_metadata(app, client):
    article_id = save(app, cover=jpeg_with_gps())
    body = client.get(f"/api/v1/articles/{article_id}").get_json()
    assert body["cover_url"].startswith(f"/api/v1/articles/{article_id}/cover?v=")
    cover = client.get(body["cover_url"])
    assert cover.status_code == 200 and cover.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(cover.data)).getexif().get(0x8825) is None  # no GPS
    assert cover.headers["X-Content-Type-Options"] == "nosniff"


def test_a_drafts_cover_is_not_served_by_the_api(app, client):
    article_id = save(app, status="draft", cover=jpeg_with_gps())
    assert client.get(f"/api/v1/articles/{article_id}/cover").status_code == 404
    no_cover = save(app)
    assert client.get(f"/api/v1/articles/{no_cover}/cover").status_code == 404


def test_a_cover_that_is_not_an_image_is_refused_and_nothing_is_saved(app, client):
    with pytest.raises(UnsupportedImage):
        save(app, cover=b"%PDF-1.4 not an image")
    assert client.get("/api/v1/articles").get_json()["items"] == []


def test_replacing_a_cover_deletes_the_old_file(app):
    article_id = save(app, cover=jpeg_with_gps())
    with app.app_context():
        old_key = content.get_article(article_id).cover_key
    save(app, article_id=article_id, cover=jpeg_with_gps())
    with app.app_context():
        new_key = content.get_article(article_id).cover_key
        assert new_key != old_key
        store = content.cover_storage()
        with store.open(new_key) as stored:
            assert stored.read(2) == b"\xff\xd8"
        with pytest.raises(NotFound):
            store.open(old_key)
