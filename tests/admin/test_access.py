"""Who may open what: anonymous visitors go to the login page, moderators cannot read the audit log."""

from __future__ import annotations

import re

import pytest

from tests.admin.factories import csrf_token

PAGES = ["/admin/", "/admin/reviews", "/admin/reviews?after=3", "/admin/reviews/1", "/admin/photos/1",
         "/admin/audit", "/admin/password", "/admin/dashboard",
         "/admin/rewards", "/admin/rewards/new", "/admin/rewards/1", "/admin/redemptions",
         "/admin/articles", "/admin/articles/new", "/admin/articles/1", "/admin/articles/1/cover",
         "/admin/tips", "/admin/tips/new", "/admin/tips/1",
         "/admin/activities", "/admin/activities/new", "/admin/activities/1", "/admin/activities/1/edit",
         "/admin/partners", "/admin/partners/1/events", "/admin/factors",
         "/admin/appeals", "/admin/appeals?after=3", "/admin/appeals/1"]
# Routes that only take POST: anonymous posts must be sent to login too.
POST_ONLY = ["/admin/reviews/1", "/admin/logout", "/admin/password", "/admin/redemptions/1/cancel",
             "/admin/articles/1/delete", "/admin/tips/1/delete", "/admin/activities/1/cancel",
             "/admin/activities/1/signups/1/checkin", "/admin/partners/1/rotate", "/admin/partners/1/status",
             "/admin/appeals/1"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_login_from_every_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/")


@pytest.mark.parametrize("path", POST_ONLY)
def test_anonymous_posts_are_sent_to_login(client, path):
    response = client.post(path, data={"csrf_token": csrf_token(client), "decision": "approve"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"


def test_every_admin_route_is_covered_by_these_tests(app):
    """A new admin route must be added to PAGES above (or be the login page or a POST-only route)."""
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")}
    def shape(path: str) -> str:
        return re.sub(r"/\d+", "/<id>", path.split("?")[0])

    covered = {"/admin/login"} | {shape(p) for p in PAGES + POST_ONLY}
    rules = {re.sub(r"/<int:\w+>", "/<id>", rule) for rule in rules}
    assert rules <= covered, rules - covered


def test_a_moderator_cannot_open_the_audit_log(moderator_client):
    response = moderator_client.get("/admin/audit")
    assert response.status_code == 403 and "无权访问" in response.get_data(as_text=True)
    assert "审计日志" not in moderator_client.get("/admin/reviews").get_data(as_text=True)


def test_an_admin_reviews_and_reads_the_audit_log(admin_client):
    assert admin_client.get("/admin/reviews").status_code == 200
    page = admin_client.get("/admin/audit")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)


def test_admin_pages_are_not_cached_framed_or_given_foreign_scripts(moderator_client):
    response = moderator_client.get("/admin/reviews")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # no CDN: everything from this server


def test_bootstrap_is_served_by_the_app_itself(client):
    css = client.get("/static/vendor/bootstrap/css/bootstrap.min.css")
    js = client.get("/static/vendor/bootstrap/js/bootstrap.bundle.min.js")
    assert css.status_code == js.status_code == 200
    assert b"Bootstrap  v5.3" in css.data and b"Bootstrap v5.3" in js.data
    assert client.get("/static/admin/admin.css").status_code == 200


def test_an_unknown_record_is_a_404_page(moderator_client):
    response = moderator_client.get("/admin/reviews/999999")
    assert response.status_code == 404 and "不存在" in response.get_data(as_text=True)
    assert moderator_client.get("/admin/photos/999999").status_code == 404
