"""POST /photos (wx.uploadFile) and the owner's own image."""

from flask import g, request, send_file

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.schemas import record_json
from app.errors import ValidationFailed
from app.services import photos

FORM_FIELDS = {"kind", "material", "weight_kg", "meal", "date"}


@bp.post("/photos")
@login_required
@idempotent
def upload_photo():
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("请上传照片（字段名 file）", details={"field": "file", "problem": "required"})
    unknown = sorted(set(request.form) - FORM_FIELDS)
    if unknown:
        raise ValidationFailed(details={"unknown_fields": unknown})
    record = photos.submit_photo(g.current_user.id, upload.read(), request.form.get("kind"), request.form.to_dict())
    return record_json(record), 201


@bp.get("/photos/<int:photo_id>/image")
@login_required
def photo_image(photo_id: int):
    handle, content_type = photos.open_photo_for_owner(g.current_user.id, photo_id)
    response = send_file(handle, mimetype=content_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
