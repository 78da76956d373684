"""/healthz and /readyz, what a load balancer asks before sending traffic."""

import os

from app import create_app
from tests.fake_wechat import refused_base_url


def test_healthz_answers_without_touching_anything(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_200_when_database_and_storage_work(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}


def test_readyz_is_503_when_storage_is_not_writable(app, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the upload folder should be")
    broken = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                    "UPLOAD_DIR": os.fspath(blocked)})
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"].startswith("unavailable")


def test_readyz_checks_redis_when_configured(app):
    up = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                "UPLOAD_DIR": app.config["UPLOAD_DIR"], "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert up.test_client().get("/readyz").get_json()["checks"]["redis"] == "ok"
    port = refused_base_url().rsplit(":", 1)[1]
    down = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                  "UPLOAD_DIR": app.config["UPLOAD_DIR"], "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    response = down.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"].startswith("unavailable")


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    gone = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                                  "UPLOAD_DIR": os.fspath(tmp_path)})
    response = gone.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["database"].startswith("unavailable")
