"""Articles (public: readable without logging in) and the user's own reduction suggestions."""

from __future__ import annotations

from flask import g, request, send_file, url_for

from app.api import bp
from app.api.auth import login_required
from app.models import Article
from app.services import content, suggestions
from app.services.records import page_limit

# Published articles are the same for everyone: let the mini program and any proxy keep them a minute.
PUBLIC_CACHE = "public, max-age=60"


def article_json(article: Article) -> dict:
    cover_url = None
    if article.cover_key:
        # The key in the query: a new cover is a new URL, so the image itself can be cached for long.
        cover_url = url_for("api.article_cover", article_id=article.id, v=article.cover_key[:8])
    return {"id": article.id, "title": article.title, "category": article.category, "summary": article.summary,
            "cover_url": cover_url, "publish_at": article.publish_at.isoformat(),
            "updated_at": article.updated_at.isoformat()}


@bp.get("/articles")
def list_articles():
    rows, next_cursor = content.list_published(
        request.args.get("category") or None, page_limit(request.args.get("limit")), request.args.get("cursor"))
    return {"items": [article_json(a) for a in rows], "next_cursor": next_cursor}, 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/articles/<int:article_id>")
def get_article(article_id: int):
    article = content.published_article(article_id)
    return {**article_json(article), "html": article.html}, 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/articles/<int:article_id>/cover")
def article_cover(article_id: int):
    article = content.published_article(article_id)
    response = send_file(content.open_cover(article), mimetype="image/jpeg", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/suggestions")
@login_required
def list_suggestions():
    items = suggestions.suggestions_for(g.current_user.id)
    return {"items": [{"title": s.title, "text": s.text, "kind": s.kind, "potential_co2_g": s.potential_co2_g,
                       "period": "week" if s.potential_co2_g is not None else None, "source": s.source}
                      for s in items],
            "next_cursor": None}
