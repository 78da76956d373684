"""An integrator opens /api/v1/docs: Swagger UI renders every operation from the app's own assets."""

from __future__ import annotations


def test_the_api_docs_render_every_operation_without_another_site(app, live_server, page, screenshot):
    from playwright.sync_api import expect

    elsewhere = []
    page.on("request", lambda request: not request.url.startswith(live_server) and elsewhere.append(request.url))
    page.goto(f"{live_server}/api/v1/docs")
    expect(page.get_by_text("个人碳账户 API")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    operations = sum(len(item) for item in app.test_client().get("/api/v1/openapi.json").get_json()["paths"].values())
    assert page.locator(".opblock").count() == operations
    page.locator(".opblock-summary", has_text="/api/v1/trips").first.click()
    expect(page.get_by_text("implausible_trip").first).to_be_visible()
    screenshot("api-docs")
    assert elsewhere == [] and page.console_errors == []
