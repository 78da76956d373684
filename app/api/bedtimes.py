"""POST /bedtimes: last night's lights-out time."""

from __future__ import annotations

from flask import g
from pydantic import Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import RecordOut, Request, record_json
from app.errors import DuplicateRecord, InvalidNight
from app.services import bedtimes


class BedtimeIn(Request):
    night: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"},
                       description="last night (yesterday in the user's calendar), YYYY-MM-DD")
    bedtime: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="lights out, HH:MM (00:xx is after 23:00)")


@bp.post("/bedtimes", responses={201: RecordOut})
@refuses(InvalidNight, DuplicateRecord)
@login_required
@idempotent
def record_bedtime(body: BedtimeIn):
    """Record last night's bedtime: 77.6 g per hour before 23:00, pro rata, at most 3 h"""
    record = bedtimes.record_bedtime(g.current_user.id, body.night, body.bedtime)
    return record_json(record), 201
