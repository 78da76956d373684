"""POST /photos (wx.uploadFile) and the owner's own image."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from flask import g, request, send_file
from flask_openapi3 import FileStorage
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import Id, RecordOut, Request, record_json
from app.errors import DailyLimitReached, DuplicateRecord, NotFound
from app.services import photos
from app.services.images import FileTooLarge, UnsupportedImage
from app.services.photos import DuplicatePhoto
from app.services.storage import StorageFull


class PhotoForm(Request):
    """multipart/form-data, as wx.uploadFile sends it (`name: "file"`)."""

    file: FileStorage = Field(description="JPEG, PNG, WebP or HEIC")
    kind: Literal[*photos.PHOTO_KINDS]
    material: Literal[*photos.MATERIALS] | None = Field(None, description="recycling: required")
    weight_kg: Decimal | None = Field(None, gt=0, le=photos.MAX_WEIGHT_KG,
                                      description="recycling: required, kg, at most 3 decimals")
    meal: Literal[*photos.MEALS] | None = Field(None, description="meal: required, the slot")
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"},
                             description="meal: required, today or yesterday in the user's calendar")


class PhotoPath(BaseModel):
    photo_id: Id


@bp.post("/photos", responses={201: RecordOut})
@refuses(DuplicatePhoto, DuplicateRecord, DailyLimitReached, UnsupportedImage, FileTooLarge, StorageFull)
@login_required
@idempotent
def upload_photo(form: PhotoForm):
    """Upload a photo of a behaviour: a pending record for the moderators; copies of any earlier photo are refused"""
    # The fields as typed: the service parses weight_kg and date from the text itself.
    record = photos.submit_photo(g.current_user.id, form.file.read(), form.kind, request.form.to_dict())
    return record_json(record), 201


@bp.get("/photos/<int:photo_id>/image", responses={
    200: {"description": "the image, EXIF removed", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
@refuses(NotFound)
@login_required
def photo_image(path: PhotoPath):
    """A photo's image, for its owner only (anyone else: 404)"""
    handle, content_type = photos.open_photo_for_owner(g.current_user.id, path.photo_id)
    response = send_file(handle, mimetype=content_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
