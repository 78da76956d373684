"""Staff accounts, logins through the real form, and pending photo records uploaded through the real API."""

from __future__ import annotations

import io
import random
import re

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from app.services import staff as staff_service

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def create_staff(app: Flask, username: str, role: str = "moderator", password: str = PASSWORD) -> int:
    with app.app_context():
        return staff_service.create_staff(username, password, role).id


def csrf_token(client: FlaskClient, url: str = "/admin/login") -> str:
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, next_url: str | None = None,
           environ_base: dict | None = None):
    """Post the login form as a browser would: with the CSRF token of the page it came from."""
    token = csrf_token(client)  # bound to the cookie session, not to the page
    data = {"csrf_token": token, "username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/admin/login", data=data, environ_base=environ_base or {})


def jpeg(seed: int, size: tuple[int, int] = (480, 360)) -> bytes:
    """A small real JPEG: bands and blobs in colours from `seed`, so no two seeds look alike."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(40, width // 2), y0 + rng.randrange(40, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def dev_login(client: FlaskClient, app: Flask, name: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={
        "code": f"dev:{name}", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def upload_photo(client: FlaskClient, headers: dict[str, str], data: bytes, kind: str = "sorting",
                 **fields: str) -> dict:
    """A pending photo record, made the way the mini program makes it (POST /api/v1/photos)."""
    response = client.post("/api/v1/photos", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "photo.jpg"), "kind": kind, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
