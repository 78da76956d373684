"""POST /trips: a green trip measured from its GPS track."""

from flask import g

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.schemas import json_body, record_json
from app.services import trips


@bp.post("/trips")
@login_required
@idempotent
def record_trip():
    body = json_body(required={"mode": str, "track": list})
    record = trips.record_trip(g.current_user.id, body["mode"], body["track"])
    return record_json(record), 201
