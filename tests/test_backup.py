"""`flask backup DEST`: a consistent copy of a live SQLite database and its photos, or a clear refusal.

The copy is made while another thread keeps writing, from a SQLite app of the test's own (so this runs
in every pass, whatever TEST_DATABASE_URL says).
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import create_app
from tests.api.test_rewards import give_points
from tests.conftest import reset_database
from tests.photos import jpeg


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.db'}",
                                 "UPLOAD_DIR": str(tmp_path / "uploads")})
    reset_database(app)
    return app


def _login(client, app, name: str) -> tuple[dict[str, str], int]:
    token = client.post("/api/v1/auth/login", json={
        "code": f"dev:{name}", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    return headers, client.get("/api/v1/me", headers=headers).get_json()["user"]["id"]


def _upload(client, headers, seed: int) -> int:
    coarse = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    data = jpeg(Image.fromarray(coarse).resize((640, 480), Image.Resampling.BICUBIC))
    form = {"kind": "recycling", "material": "paper", "weight_kg": "2", "file": (io.BytesIO(data), "p.jpg")}
    return client.post("/api/v1/photos", headers=headers, data=form, content_type="multipart/form-data").status_code


def test_backup_while_the_app_writes_is_a_consistent_copy_with_every_photo(sqlite_app, tmp_path):
    client = sqlite_app.test_client()
    users = [_login(client, sqlite_app, f"saver{i}") for i in range(4)]
    assert [_upload(client, users[i][0], seed=i) for i in range(4)] == [201] * 4

    stop, writes = threading.Event(), []

    def keep_writing():
        writer = sqlite_app.test_client()
        seed = 100
        while not stop.is_set():
            headers, uid = users[seed % len(users)]
            give_points(sqlite_app, uid, "1.5")  # ledger entry and balance, one transaction
            writes.append(_upload(writer, headers, seed))  # a file, then its row (5 a day per user)
            seed += 1

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        while len(writes) < 2:  # the writer is under way
            stop.wait(0.05)
        result = sqlite_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    finally:
        stop.set()
        thread.join(30)
    assert result.exit_code == 0, result.output
    assert "integrity_check ok" in result.output

    backup = tmp_path / "backup"
    manifest = json.loads((backup / "manifest.json").read_text())
    with sqlite3.connect(backup / manifest["database"]["file"]) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        # One snapshot: every balance equals its ledger, though writes went on during the copy.
        ledger = dict(copy.execute("SELECT user_id, sum(points) FROM ledger_entries GROUP BY user_id"))
        for uid, balance in copy.execute("SELECT user_id, balance_points FROM accounts"):
            assert Decimal(str(ledger.get(uid, 0))) == Decimal(str(balance))
        photos = dict(copy.execute("SELECT storage_key, byte_size FROM photos"))
        rows = {name: copy.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in manifest["database"]["rows"]}
    copy.close()
    assert len(photos) >= 4 and rows == manifest["database"]["rows"] and rows["photos"] == len(photos)
    assert manifest["photos"]["missing"] == [] and manifest["photos"]["count"] == len(photos)
    for key, size in photos.items():  # every photo row's file, complete, as the manifest describes it
        data = (backup / "photos" / key[:2] / key).read_bytes()
        assert len(data) == size == manifest["photos"]["files"][key]["bytes"]
        assert hashlib.sha256(data).hexdigest() == manifest["photos"]["files"][key]["sha256"]


def test_backup_refuses_a_folder_that_is_not_empty(sqlite_app, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    result = sqlite_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "old")])
    assert result.exit_code != 0 and "not empty" in result.output
    assert (tmp_path / "old" / "manifest.json").read_text() == "{}"


@pytest.mark.parametrize("url, tool", [
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "pg_dump"),
    ("mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4", "mariadb-dump"),
])
def test_backup_refuses_server_databases_naming_their_tool(url, tool, tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "uploads")})
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code != 0 and tool in result.output
    assert not Path(tmp_path / "backup").exists()
