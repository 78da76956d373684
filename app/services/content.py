"""Articles (政策解读, 低碳小贴士, 碳市场): Markdown rendered and sanitised when saved, covers, publishing."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import markdown
import nh3
from flask import current_app
from sqlalchemy import and_, or_, select

from app.database import write_transaction
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import Article, AuditEntry
from app.services import clock, images
from app.services.storage import LocalStorage, S3Storage, storage

CATEGORIES = ("policy", "tips", "market")
STATUSES = ("draft", "published")
# MySQL/MariaDB TEXT holds 65,535 bytes; both the Markdown and its HTML must fit.
MAX_TEXT_BYTES = 65_000

# What the mini program's <rich-text> can show, and nothing that can run: no script, no event handler,
# no style, no iframe/form; links and images only to http(s) URLs.
ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em", "b", "i", "del",
    "a", "img", "blockquote", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
_URL_ATTRIBUTES = {("a", "href"), ("img", "src")}


def _only_http_urls(tag: str, attribute: str, value: str) -> str | None:
    """Keep a link or image URL only when it is absolute http(s): a relative URL means nothing inside
    the mini program, and every other scheme (javascript:, data:, vbscript:) is refused."""
    if (tag, attribute) in _URL_ATTRIBUTES:
        return value if value.strip().lower().startswith(("http://", "https://")) else None
    return value


_cleaner = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https"},
                       attribute_filter=_only_http_urls, clean_content_tags={"script", "style"},
                       strip_comments=True, link_rel="noopener noreferrer")


def render_markdown(text: str) -> str:
    """Markdown → HTML → the allow-list above. Raw HTML inside the Markdown goes through the same filter."""
    html = markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"],
                             extension_configs={"tables": {"use_align_attribute": True}}, output_format="html")
    return _cleaner.clean(html)


@dataclass(frozen=True)
class ArticleInput:
    title: str
    category: str
    summary: str
    markdown: str
    status: str
    publish_at: datetime | None


def _validate(data: ArticleInput) -> str:
    if not data.title.strip() or len(data.title) > 200:
        raise ValidationFailed("标题须为 1–200 个字符", details={"field": "title"})
    if data.category not in CATEGORIES:
        raise ValidationFailed("分类无效", details={"field": "category", "allowed": list(CATEGORIES)})
    if data.status not in STATUSES:
        raise ValidationFailed("状态无效", details={"field": "status", "allowed": list(STATUSES)})
    if len(data.summary) > 500:
        raise ValidationFailed("摘要至多 500 个字符", details={"field": "summary"})
    if len(data.markdown.encode()) > MAX_TEXT_BYTES:
        raise ValidationFailed("正文过长", details={"field": "markdown", "max_bytes": MAX_TEXT_BYTES})
    html = render_markdown(data.markdown)
    if len(html.encode()) > MAX_TEXT_BYTES:
        raise ValidationFailed("正文过长", details={"field": "markdown", "max_bytes": MAX_TEXT_BYTES})
    return html


def cover_storage() -> LocalStorage | S3Storage:
    # A folder of its own: `flask purge` sweeps files in UPLOAD_DIR that no photo row owns, and covers
    # are owned by articles, not photos.
    return storage("covers")


def _store_cover(data: bytes) -> str:
    config = current_app.config
    clean = images.clean_upload(data, config["MAX_PHOTO_BYTES"], config["MAX_PHOTO_PIXELS"])
    return cover_storage().save(clean.data)


def save_article(article_id: int | None, data: ArticleInput, *, staff_id: int | None,
                 cover: bytes | None = None, remove_cover: bool = False) -> Article:
    """Create (article_id None) or update an article; the HTML is rendered and sanitised here, once.

    A published article without a publish time is published now. A new cover is stored (checked by
    content, metadata removed) before the row commits; the replaced file is deleted after it.
    """
    html = _validate(data)
    now = clock.now()
    new_key = _store_cover(cover) if cover else None
    old_key = None
    try:
        with write_transaction():
            if article_id is None:
                article = Article(created_by=staff_id, created_at=now)
                db.session.add(article)
            else:
                article = db.session.get(Article, article_id)
                if article is None:
                    raise NotFound()
            article.title, article.category = data.title.strip(), data.category
            article.summary, article.markdown, article.html = data.summary.strip(), data.markdown, html
            article.status = data.status
            article.publish_at = data.publish_at or (now if data.status == "published" else None)
            article.updated_at = now
            if new_key or remove_cover:
                old_key, article.cover_key = article.cover_key, new_key
            db.session.flush()
            db.session.add(AuditEntry(staff_id=staff_id, action="article_saved",
                                      details={"article_id": article.id, "status": article.status}))
    except BaseException:
        if new_key:
            cover_storage().delete(new_key)
        raise
    if old_key:
        cover_storage().delete(old_key)
    return article


def delete_article(article_id: int, staff_id: int | None = None) -> None:
    with write_transaction():
        article = db.session.get(Article, article_id)
        if article is None:
            raise NotFound()
        key = article.cover_key
        db.session.delete(article)
        db.session.add(AuditEntry(staff_id=staff_id, action="article_deleted",
                                  details={"article_id": article_id, "title": article.title}))
    if key:
        cover_storage().delete(key)


def admin_articles(page: int, per_page: int = 50):
    query = select(Article).order_by(Article.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def get_article(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound()
    return article


def _published(now: datetime):
    return and_(Article.status == "published", Article.publish_at <= now)


def published_article(article_id: int) -> Article:
    """An article readers may see: published, and its publish time has come (else the same 404)."""
    article = db.session.scalar(select(Article).where(Article.id == article_id, _published(clock.now())))
    if article is None:
        raise NotFound()
    return article


def list_published(category: str | None, limit: int, cursor: str | None) -> tuple[list[Article], str | None]:
    """Published articles, newest publish time first, a page at a time (keyset on (publish_at, id))."""
    if category is not None and category not in CATEGORIES:
        raise ValidationFailed(details={"field": "category", "allowed": list(CATEGORIES)})
    query = select(Article).where(_published(clock.now()))
    if category:
        query = query.where(Article.category == category)
    after = _decode_cursor(cursor)
    if after is not None:
        at, last_id = after
        query = query.where(or_(Article.publish_at < at, and_(Article.publish_at == at, Article.id < last_id)))
    rows = db.session.scalars(query.order_by(Article.publish_at.desc(), Article.id.desc()).limit(limit + 1)).all()
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return list(rows[:limit]), next_cursor


def _encode_cursor(article: Article) -> str:
    text = f"a:{article.publish_at.isoformat()}|{article.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, rest = text.partition(":")
        moment, _, last_id = rest.partition("|")
        at = datetime.fromisoformat(moment)
        if prefix == "a" and last_id.isdigit() and at.tzinfo is not None:
            return at, int(last_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(details={"field": "cursor", "problem": "not a cursor this server gave"})


def open_cover(article: Article) -> IO[bytes]:
    if not article.cover_key:
        raise NotFound()
    return cover_storage().open(article.cover_key)
