"""POST /api/v1/photos: content-checked uploads, no metadata kept, one photo one upload, the rules per kind."""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import skimage.data
from PIL import Image

from app.extensions import db
from app.models import Photo
from tests.s3 import object_names

GPS_IFD = 0x8825


def jpeg_bytes(array: np.ndarray, quality: int = 92, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return out.getvalue()


COFFEE = skimage.data.coffee()
CHELSEA = skimage.data.chelsea()
ASTRONAUT = skimage.data.astronaut()


def upload(client, headers, data: bytes, kind: str = "sorting", filename: str = "photo.jpg", **fields):
    form = {"kind": kind, **fields, "file": (io.BytesIO(data), filename)}
    return client.post("/api/v1/photos", headers=headers, data=form, content_type="multipart/form-data")


def stored_files(app) -> list[str]:
    """Every stored photo: its path under UPLOAD_DIR, or its object's name when photos go to a bucket."""
    if app.config.get("S3_BUCKET"):
        return object_names(app)
    root = app.config["UPLOAD_DIR"]
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]["code"]


def test_a_sorting_photo_is_pending_with_the_grams_it_would_earn(client, login):
    headers = login()
    response = upload(client, headers, jpeg_bytes(COFFEE))
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["status"] == "pending" and record["kind"] == "sorting"
    assert (record["co2_g"], record["points"]) == (68, 6.8)
    assert record["suspected_duplicate"] is False
    assert client.get("/api/v1/me", headers=headers).get_json()["account"]["balance_points"] == 0
    image = client.get(record["photo"]["image_url"], headers=headers)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["Cache-Control"] == "private, no-store"


def test_the_image_is_served_to_its_owner_only(client, login):
    record = upload(client, login("ann"), jpeg_bytes(COFFEE)).get_json()
    other = client.get(record["photo"]["image_url"], headers=login("ben"))
    assert error_code(other, 404) == "not_found"
    assert client.get(record["photo"]["image_url"]).status_code == 401


def test_stored_photo_has_no_exif_or_gps_and_is_upright(client, login, app):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 13.0, 50.0), 3: "E", 4: (121.0, 28.0, 30.0)})
    original = jpeg_bytes(CHELSEA, exif=exif)
    assert b"PhoneMaker" in original
    headers = login()
    record = upload(client, headers, original).get_json()
    stored = client.get(record["photo"]["image_url"], headers=headers).data
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif() and image.size == (CHELSEA.shape[0], CHELSEA.shape[1])  # turned upright


@pytest.mark.parametrize("layout", ["plain", "restart markers", "maker data after the picture"])
def test_an_unrotated_jpeg_is_stored_losslessly_without_its_metadata(client, login, layout):
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 13.0, 50.0)})
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.fromarray(COFFEE).save(out, "JPEG", quality=92, exif=exif,
                                 **({"restart_marker_blocks": 4} if layout == "restart markers" else {}))
    original = out.getvalue() + (b"\xff\xd8MakerNote PhoneMaker serial 12345" if layout.startswith("maker") else b"")
    headers = login()
    record = upload(client, headers, original).get_json()
    stored = client.get(record["photo"]["image_url"], headers=headers).data
    assert b"PhoneMaker" not in stored and b"Exif" not in stored and stored.endswith(b"\xff\xd9")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(stored))), np.asarray(Image.open(io.BytesIO(original))))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_png_webp_and_heic_are_accepted_and_stored_as_jpeg(client, login, fmt):
    out = io.BytesIO()
    Image.fromarray(ASTRONAUT).save(out, fmt)
    headers = login()
    response = upload(client, headers, out.getvalue(), filename="IMG_0001.HEIC")
    assert response.status_code == 201, response.get_json()
    stored = client.get(response.get_json()["photo"]["image_url"], headers=headers)
    assert Image.open(io.BytesIO(stored.data)).format == "JPEG"


def test_the_same_file_again_is_refused_by_anyone_and_nothing_is_kept(client, login, app):
    data = jpeg_bytes(COFFEE)
    assert upload(client, login("ann"), data).status_code == 201
    files_before = stored_files(app)
    for name in ("ann", "ben"):
        assert error_code(upload(client, login(name), data), 409) == "duplicate_photo"
    assert stored_files(app) == files_before
    with app.app_context():
        assert db.session.query(Photo).count() == 1


def test_a_recompressed_and_resized_copy_is_refused(client, login):
    assert upload(client, login("ann"), jpeg_bytes(COFFEE)).status_code == 201
    small = np.asarray(Image.fromarray(COFFEE).resize((300, 200)))
    assert error_code(upload(client, login("ben"), jpeg_bytes(small, quality=60)), 409) == "duplicate_photo"


def test_different_photos_are_all_accepted(client, login):
    headers = login()
    for array in (COFFEE, CHELSEA, ASTRONAUT):
        assert upload(client, headers, jpeg_bytes(array)).status_code == 201


@pytest.mark.parametrize("data, filename", [
    (b"%PDF-1.4 not a photo", "photo.jpg"),
    (b"GIF89a" + b"\x00" * 100, "photo.gif"),
    (b"", "empty.jpg"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "truncated.jpg"),
])
def test_what_is_not_an_accepted_image_is_415_and_leaves_nothing(client, login, app, data, filename):
    before = stored_files(app)
    assert error_code(upload(client, login(), data, filename=filename), 415) == "unsupported_image"
    assert stored_files(app) == before


def test_a_gif_named_jpg_is_refused_by_its_content(client, login):
    out = io.BytesIO()
    Image.fromarray(COFFEE).save(out, "GIF")
    assert error_code(upload(client, login(), out.getvalue(), filename="photo.jpg"), 415) == "unsupported_image"


def test_a_decompression_bomb_is_413_and_leaves_nothing(client, login, app):
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 MP in a few kilobytes
    assert len(out.getvalue()) < 100_000
    before = stored_files(app)
    assert error_code(upload(client, login(), out.getvalue()), 413) == "file_too_large"
    assert stored_files(app) == before


def test_a_file_over_the_size_limit_is_413(client, login, app):
    big = jpeg_bytes(COFFEE) + b"\x00" * app.config["MAX_PHOTO_BYTES"]
    assert error_code(upload(client, login(), big), 413) == "file_too_large"


def test_a_path_like_file_name_is_never_used(client, login, app, tmp_path):
    response = upload(client, login(), jpeg_bytes(COFFEE), filename="../../../../tmp/evil.jpg")
    assert response.status_code == 201
    assert not os.path.exists("/tmp/evil.jpg")
    names = [os.path.basename(p) for p in stored_files(app)]
    assert all(len(n) == 32 and "evil" not in n for n in names)


def test_recycling_needs_a_material_and_a_sensible_weight(client, login):
    headers = login()
    for fields in ({"weight_kg": "2"}, {"material": "glass", "weight_kg": "2"}, {"material": "paper"},
                   {"material": "paper", "weight_kg": "0"}, {"material": "paper", "weight_kg": "50.5"},
                   {"material": "paper", "weight_kg": "abc"}, {"material": "paper", "weight_kg": "1.2345"},
                   {"material": "paper", "weight_kg": "NaN"}):
        assert error_code(upload(client, headers, jpeg_bytes(COFFEE), kind="recycling", **fields), 422) \
            == "validation_error", fields
    record = upload(client, headers, jpeg_bytes(COFFEE), kind="recycling", material="textile",
                    weight_kg="2.5").get_json()
    assert (record["subtype"], record["weight_kg"], record["co2_g"], record["points"]) == ("textile", 2.5, 9000, 900)


def _today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


def test_one_meal_per_slot_per_day_today_or_yesterday_only(client, login):
    headers = login()
    today = _today().date()
    lunch = upload(client, headers, jpeg_bytes(COFFEE), kind="meal", meal="lunch", date=today.isoformat())
    assert lunch.status_code == 201 and lunch.get_json()["co2_g"] == 96
    again = upload(client, headers, jpeg_bytes(CHELSEA), kind="meal", meal="lunch", date=today.isoformat())
    assert error_code(again, 409) == "duplicate_record"
    yesterday = (today - timedelta(days=1)).isoformat()
    assert upload(client, headers, jpeg_bytes(CHELSEA), kind="meal", meal="lunch", date=yesterday).status_code == 201
    old = (today - timedelta(days=2)).isoformat()
    assert error_code(upload(client, headers, jpeg_bytes(ASTRONAUT), kind="meal", meal="dinner", date=old),
                      422) == "validation_error"
    assert error_code(upload(client, headers, jpeg_bytes(ASTRONAUT), kind="meal", meal="snack",
                             date=today.isoformat()), 422) == "validation_error"


def test_sorting_has_a_daily_cap(client, login, app):
    headers = login()
    photos = [COFFEE, CHELSEA, ASTRONAUT, skimage.data.rocket()]
    cap = app.config["PHOTO_DAILY_CAP"]["sorting"]
    responses = [upload(client, headers, jpeg_bytes(p)) for p in photos[:cap + 1]]
    assert [r.status_code for r in responses[:cap]] == [201] * cap
    assert error_code(responses[cap], 409) == "daily_limit_reached"


def test_an_upload_without_a_file_or_with_unknown_fields_is_422(client, login):
    headers = login()
    response = client.post("/api/v1/photos", headers=headers, data={"kind": "sorting"},
                           content_type="multipart/form-data")
    assert error_code(response, 422) == "validation_error"
    assert error_code(upload(client, headers, jpeg_bytes(COFFEE), owner="x"), 422) == "validation_error"
    assert error_code(upload(client, headers, jpeg_bytes(COFFEE), kind="selfie"), 422) == "validation_error"


def test_a_retried_upload_with_the_same_key_is_one_record(client, login):
    headers = {**login(), "Idempotency-Key": "upload-1"}
    data = jpeg_bytes(COFFEE)
    first, again = upload(client, headers, data), upload(client, headers, data)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()


def test_a_file_left_by_a_crash_before_commit_is_swept_and_owned_files_are_kept(client, login, app):
    record = upload(client, login(), jpeg_bytes(COFFEE)).get_json()
    with app.app_context():
        from app.services.storage import storage
        orphan = storage().save(b"written, then the worker died before its row committed")
    old = os.path.getmtime(stored_files(app)[0]) - 7200
    for path in stored_files(app):
        os.utime(path, (old, old))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert "orphan photo files removed: 1" in result.output
    names = [os.path.basename(p) for p in stored_files(app)]
    assert orphan not in names and len(names) == 1
    assert client.get(record["photo"]["image_url"], headers=login()).status_code == 200
