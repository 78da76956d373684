"""Photos in an S3-compatible bucket (S3_BUCKET set), on a real S3 server run locally: the photo API and
the admin review tests again, then what only a bucket can do wrong (unreachable, missing, listing)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from PIL import Image

from app import create_app
from app.errors import NotFound
from app.extensions import db
from app.models import LedgerEntry, Photo, Record
from app.services import photos
from app.services.storage import S3Storage, storage
from tests.admin import test_reviews
from tests.admin.conftest import admin, admin_client, moderator, moderator_client, pending_photos  # noqa: F401
from tests.admin.factories import log_in
from tests.api import test_photos
from tests.api.test_photos import CHELSEA, COFFEE, GPS_IFD, error_code, jpeg_bytes, upload
from tests.fake_wechat import refused_base_url
from tests.s3 import S3Server, bucket_client, empty_bucket, object_names, s3_settings

BUCKET = "carbon-photos"

# The photo API and the review pages, unchanged, with their files in the bucket. The crash-sweep test
# ages files with os.utime, which a bucket cannot; its bucket version is below.
LOCAL_ONLY = {"test_a_file_left_by_a_crash_before_commit_is_swept_and_owned_files_are_kept"}
globals().update({name: test for module in (test_photos, test_reviews) for name, test in vars(module).items()
                  if name.startswith("test_") and name not in LOCAL_ONLY})


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with S3Server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def app(app, s3_endpoint):
    """The test app's database and WeChat, with photos in a bucket on the local S3 server."""
    bucket_client(s3_endpoint).create_bucket(Bucket=BUCKET)
    return create_app("testing", {**_shared_settings(app), **s3_settings(s3_endpoint, BUCKET), "S3_PREFIX": "carbon"})


def _shared_settings(app) -> dict:
    return {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE",
                                             "WECHAT_APPID", "WECHAT_SECRET")}


@pytest.fixture(autouse=True)
def emptied_bucket(app, s3_endpoint) -> Iterator[None]:
    yield
    empty_bucket(bucket_client(s3_endpoint), BUCKET)


def _variant(app, **settings):
    """Another app on the same database and bucket, with some storage settings changed."""
    current = {key: value for key, value in app.config.items() if key.startswith("S3_")}
    return create_app("testing", {**_shared_settings(app), **current, **settings})


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Record, Photo, LedgerEntry))


def test_the_photo_lands_in_the_bucket_without_its_metadata_and_nothing_on_local_disk(client, login, app):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 13.0, 50.0), 3: "E", 4: (121.0, 28.0, 30.0)})
    headers = login()
    record = upload(client, headers, jpeg_bytes(CHELSEA, exif=exif)).get_json()
    with app.app_context():
        key = db.session.get(Photo, record["photo"]["id"]).storage_key
    assert object_names(app) == [f"carbon/{key[:2]}/{key}"]
    stored = bucket_client(app.config["S3_ENDPOINT_URL"]).get_object(
        Bucket=BUCKET, Key=f"carbon/{key[:2]}/{key}")["Body"].read()
    assert b"Exif" not in stored and b"PhoneMaker" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    assert client.get(record["photo"]["image_url"], headers=headers).data == stored  # streamed from the bucket
    assert [name for _, _, names in os.walk(app.config["UPLOAD_DIR"]) for name in names] == []


def test_a_deleted_object_is_gone_and_deleting_again_is_no_error(app):
    with app.app_context():
        store = storage()
        key = store.save(b"evidence")
        assert store.open(key).read() == b"evidence"
        store.delete(key)
        store.delete(key)
        assert object_names(app) == []
        with pytest.raises(NotFound):
            store.open(key)


def test_purge_sweeps_an_orphan_object_and_keeps_owned_and_fresh_ones(client, login, app):
    headers = login()
    record = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    with app.app_context():
        orphan = storage().save(b"written, then the worker died before its row committed")
        cover = storage("covers").save(b"an article cover, owned by no photo")
    result = app.test_cli_runner().invoke(args=["purge"])
    assert "orphan photo files removed: 0" in result.output  # younger than an hour: maybe an upload in flight
    with app.app_context():
        assert photos.sweep_orphans(min_age_seconds=-60, batch=1) == 1
    names = object_names(app)
    assert len(names) == 2 and not any(orphan in name for name in names)
    assert f"carbon/covers/{cover[:2]}/{cover}" in names
    assert client.get(record["photo"]["image_url"], headers=headers).status_code == 200


def test_the_listing_goes_through_every_page_of_the_bucket(app):
    with app.app_context():
        keys = {storage().save(b"x") for _ in range(5)}
        small_pages = S3Storage(storage().client, BUCKET, "carbon/", page_size=2)
        assert set(small_pages.keys_older_than(-60)) == keys
        assert list(small_pages.keys_older_than(3600)) == []


def test_readyz_checks_the_bucket(app):
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["storage"] == "ok"
    missing = _variant(app, S3_BUCKET="no-such-bucket").test_client().get("/readyz")
    assert missing.status_code == 503 and missing.get_json()["checks"]["storage"] == "unavailable: NoSuchBucket"
    down = _variant(app, S3_ENDPOINT_URL=refused_base_url()).test_client().get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"]["storage"].startswith("unavailable: ")
    assert down.get_json()["checks"]["database"] == "ok"


def test_an_upload_while_the_bucket_is_unreachable_is_503_records_nothing_and_can_be_retried(app, login):
    headers = {**login("cai"), "Idempotency-Key": "upload-while-down-1"}
    down = _variant(app, S3_ENDPOINT_URL=refused_base_url()).test_client()
    response = upload(down, headers, jpeg_bytes(COFFEE))
    assert error_code(response, 503) == "service_unavailable"
    assert _counts(app) == (0, 0, 0) and object_names(app) == []
    retried = upload(app.test_client(), headers, jpeg_bytes(COFFEE))  # the same key, once storage is back
    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") is None


def test_the_image_of_an_unreachable_bucket_is_503_for_owner_and_staff(app, client, login, moderator):  # noqa: F811
    headers = login()
    record = upload(client, headers, jpeg_bytes(COFFEE)).get_json()
    down = _variant(app, S3_ENDPOINT_URL=refused_base_url())
    assert error_code(down.test_client().get(record["photo"]["image_url"], headers=headers), 503) == \
        "service_unavailable"
    staff = down.test_client()
    assert log_in(staff, moderator).status_code == 302
    # The admin turns a service's refusal into a message on the queue page, never a 500.
    refused = staff.get(f"/admin/photos/{record['photo']['id']}", follow_redirects=True)
    assert refused.status_code == 200 and "服务暂不可用" in refused.get_data(as_text=True)
