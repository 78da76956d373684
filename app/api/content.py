"""Articles (public: readable without logging in) and the user's own reduction suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import g, send_file, url_for
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.openapi import refuses
from app.api.schemas import BlankIsDefault, Grams, Id, PageQuery, Response
from app.errors import NotFound
from app.models import Article
from app.services import content, suggestions

# Published articles are the same for everyone: let the mini program and any proxy keep them a minute.
PUBLIC_CACHE = "public, max-age=60"


class ArticleQuery(PageQuery):
    category: Annotated[Literal[*content.CATEGORIES] | None, BlankIsDefault] = None


class ArticlePath(BaseModel):
    article_id: Id


class ArticleOut(Response):
    id: int
    title: str
    category: Literal[*content.CATEGORIES]
    summary: str | None
    cover_url: str | None = Field(description="relative URL; changes when the cover does")
    publish_at: datetime
    updated_at: datetime


class ArticlePage(Response):
    items: list[ArticleOut]
    next_cursor: str | None


class ArticleFull(ArticleOut):
    html: str = Field(description="sanitised HTML for <rich-text>")


class SuggestionOut(Response):
    title: str
    text: str
    kind: str | None
    potential_co2_g: Grams | None = Field(description="grams a week at the factors in force")
    period: Literal["week"] | None
    source: str = Field(description="personal (from the user's records) or tip")


class SuggestionList(Response):
    items: list[SuggestionOut]
    next_cursor: None


def article_json(article: Article) -> dict:
    cover_url = None
    if article.cover_key:
        # The key in the query: a new cover is a new URL, so the image itself can be cached for long.
        cover_url = url_for("api.article_cover", article_id=article.id, v=article.cover_key[:8])
    return {"id": article.id, "title": article.title, "category": article.category, "summary": article.summary,
            "cover_url": cover_url, "publish_at": article.publish_at.isoformat(),
            "updated_at": article.updated_at.isoformat()}


@bp.get("/articles", responses={200: ArticlePage})
def list_articles(query: ArticleQuery):
    """Published articles, newest first (public)"""
    rows, next_cursor = content.list_published(query.category, query.limit, query.cursor)
    return {"items": [article_json(a) for a in rows], "next_cursor": next_cursor}, 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/articles/<int:article_id>", responses={200: ArticleFull})
@refuses(NotFound)
def get_article(path: ArticlePath):
    """One published article with its sanitised HTML (public)"""
    article = content.published_article(path.article_id)
    return {**article_json(article), "html": article.html}, 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/articles/<int:article_id>/cover",
        responses={200: {"description": "the cover", "content": {"image/jpeg": {}}}})
@refuses(NotFound)
def article_cover(path: ArticlePath):
    """An article's cover image, JPEG (public)"""
    article = content.published_article(path.article_id)
    response = send_file(content.open_cover(article), mimetype="image/jpeg", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/suggestions", responses={200: SuggestionList})
@login_required
def list_suggestions():
    """Personal reduction suggestions from the user's own records, then general tips"""
    items = suggestions.suggestions_for(g.current_user.id)
    return {"items": [{"title": s.title, "text": s.text, "kind": s.kind, "potential_co2_g": s.potential_co2_g,
                       "period": "week" if s.potential_co2_g is not None else None, "source": s.source}
                      for s in items],
            "next_cursor": None}
