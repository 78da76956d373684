"""Appeals (申诉): against a moderator's rejection of a photo record, or a trip refused as implausible."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import g
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import Id, PageQuery, RecordOut, Request, Response, record_json
from app.errors import DuplicateRecord, NotFound
from app.models import Appeal, AppealStatus
from app.services import appeals
from app.services.appeals import NotAppealable


class AppealIn(Request):
    """Exactly one of record_id (a photo record a moderator rejected) and trip_refusal_id (details.refusal_id
    of a 422 implausible_trip)."""

    record_id: Id | None = None
    trip_refusal_id: Id | None = None
    text: str = Field(min_length=1, max_length=appeals.MAX_TEXT, description="why the decision was wrong")


class AppealOut(Response):
    id: int
    status: Literal[*AppealStatus.ALL]
    text: str
    created_at: datetime
    decided_at: datetime | None
    outcome_reason: str | None = Field(description="the moderator's reason, once decided")
    record_id: int | None
    trip_refusal_id: int | None
    record: RecordOut | None = Field(None, description="granted: the record credited")


class AppealPage(Response):
    items: list[AppealOut]
    next_cursor: str | None


class AppealPath(BaseModel):
    appeal_id: Id


def appeal_json(appeal: Appeal) -> dict:
    body = {"id": appeal.id, "status": appeal.status, "text": appeal.text,
            "created_at": appeal.created_at.isoformat(),
            "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
            "outcome_reason": appeal.outcome_reason, "record_id": appeal.record_id,
            "trip_refusal_id": appeal.trip_refusal_id}
    if appeal.granted_record is not None:
        body["record"] = record_json(appeal.granted_record)
    return body


@bp.post("/appeals", responses={201: AppealOut})
@refuses(NotFound, DuplicateRecord, NotAppealable)
@login_required
@idempotent
def submit_appeal(body: AppealIn):
    """Appeal a rejected photo record or a refused trip, once each: a moderator other than the first decides"""
    appeal = appeals.submit_appeal(g.current_user.id, record_id=body.record_id,
                                   trip_refusal_id=body.trip_refusal_id, text=body.text)
    return appeal_json(appeal), 201


@bp.get("/appeals", responses={200: AppealPage})
@login_required
def list_appeals(query: PageQuery):
    """The user's own appeals, newest first, with their outcome"""
    rows, next_cursor = appeals.list_appeals(g.current_user.id, limit=query.limit, cursor=query.cursor)
    return {"items": [appeal_json(a) for a in rows], "next_cursor": next_cursor}


@bp.get("/appeals/<int:appeal_id>", responses={200: AppealOut})
@refuses(NotFound)
@login_required
def get_appeal(path: AppealPath):
    """One of the user's appeals (anyone else's: 404)"""
    return appeal_json(appeals.user_appeal(g.current_user.id, path.appeal_id))
