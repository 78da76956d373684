"""POST /trips: a green trip measured from its GPS track."""

from __future__ import annotations

from typing import Literal

from flask import g, request
from pydantic import BaseModel, ConfigDict, Field

from app.api import bp
from app.api.auth import login_required
from app.api.errors import domain_error_response
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import RecordOut, Request, record_json
from app.errors import DailyLimitReached, ImplausibleTrip
from app.services import explanations, trips
from app.services.track_analysis import MAX_POINTS


class TrackPoint(BaseModel):
    """One GPS fix; other keys a client sends along (accuracy, speed) are ignored."""

    model_config = ConfigDict(extra="allow")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, strict=True)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False, strict=True)
    t: str = Field(max_length=64, json_schema_extra={"format": "date-time"},
                   description="ISO 8601 with offset (the phone's clock)")


class TripIn(Request):
    mode: Literal[*trips.MODES]
    track: list[TrackPoint] = Field(max_length=MAX_POINTS)


@bp.post("/trips", responses={201: RecordOut})
@refuses(ImplausibleTrip, DailyLimitReached)
@login_required
@idempotent
def record_trip(body: TripIn):
    """Record a trip: distance from the track (great-circle), credited at once if the mode explains it

    A refused trip (422 implausible_trip) credits nothing; it is kept for an appeal: details.refusal_id.
    """
    # The points as sent: the service parses them and fingerprints the raw track against replays.
    try:
        record = trips.record_trip(g.current_user.id, body.mode, request.get_json()["track"])
    except ImplausibleTrip as refusal:
        # Answered, not raised: under an Idempotency-Key the request is one transaction, and the kept
        # refusal (details.refusal_id, for an appeal) must commit with the stored answer, not roll back.
        return domain_error_response(refusal)
    return record_json(record, explanations.explain_new(record)), 201
