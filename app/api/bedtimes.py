"""POST /bedtimes: last night's lights-out time."""

from flask import g

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.schemas import json_body, record_json
from app.services import bedtimes


@bp.post("/bedtimes")
@login_required
@idempotent
def record_bedtime():
    body = json_body(required={"night": str, "bedtime": str})
    record = bedtimes.record_bedtime(g.current_user.id, body["night"], body["bedtime"])
    return record_json(record), 201
