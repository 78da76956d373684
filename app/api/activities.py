"""Low-carbon activities near the user: list, sign up, cancel, and check in with the code shown at the event."""

from __future__ import annotations

from datetime import datetime

from flask import g
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import Id, Number, PageQuery, Points, Request, Response
from app.errors import DuplicateRecord, NotFound
from app.models import Activity, ActivitySignup
from app.services import activities
from app.services.activities import ActivityClosed, ActivityFull, AlreadyCheckedIn, CheckinClosed, InvalidCheckinCode


class NearbyQuery(PageQuery):
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="with lng: nearest first")
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)


class ActivityPath(BaseModel):
    activity_id: Id


class CheckinCode(Request):
    code: str = Field(max_length=64, description="the code shown at the event")


class ActivityOut(Response):
    id: int
    title: str
    description: str
    address: str
    lat: float
    lng: float
    distance_km: Number | None = Field(description="from ?lat=&lng=, 3 decimals; null without them")
    starts_at: datetime
    ends_at: datetime
    capacity: int
    signed_up: int
    spots_left: int
    points: Points = Field(description="credited for attending (checked in)")
    cancelled: bool
    joined: bool
    checked_in: bool


class ActivityPage(Response):
    items: list[ActivityOut]
    next_cursor: str | None


class SignupOut(Response):
    id: int
    activity_id: int
    created_at: datetime
    checked_in_at: datetime | None
    activity: ActivityOut


class CheckinOut(Response):
    activity_id: int
    signup_id: int
    checked_in_at: datetime
    points: Points


def activity_json(view: activities.NearbyActivity) -> dict:
    a: Activity = view.activity
    return {"id": a.id, "title": a.title, "description": a.description, "address": a.address,
            "lat": a.lat, "lng": a.lng, "distance_km": view.distance_km,
            "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
            "capacity": a.capacity, "signed_up": a.signed_up, "spots_left": max(a.capacity - a.signed_up, 0),
            "points": a.points, "cancelled": a.cancelled_at is not None,
            "joined": view.joined, "checked_in": view.checked_in}


def signup_json(signup: ActivitySignup, activity: Activity) -> dict:
    return {"id": signup.id, "activity_id": signup.activity_id, "created_at": signup.created_at.isoformat(),
            "checked_in_at": signup.checked_in_at.isoformat() if signup.checked_in_at else None,
            "activity": activity_json(activities.NearbyActivity(activity, None, True, False))}


@bp.get("/activities", responses={200: ActivityPage})
@login_required
def list_activities(query: NearbyQuery):
    """Upcoming activities, nearest first when ?lat=&lng= are given (both or neither), else soonest first"""
    position = activities.parse_position(query.lat, query.lng)
    items, next_cursor = activities.upcoming(g.current_user.id, position, query.limit, query.cursor)
    return {"items": [activity_json(i) for i in items], "next_cursor": next_cursor}


@bp.get("/activities/<int:activity_id>", responses={200: ActivityOut})
@refuses(NotFound)
@login_required
def get_activity(path: ActivityPath):
    """One activity, with whether the user joined and checked in"""
    return activity_json(activities.user_view(g.current_user.id, activities.get_activity(path.activity_id)))


@bp.post("/activities/<int:activity_id>/signups", responses={201: SignupOut})
@refuses(NotFound, ActivityFull, ActivityClosed, DuplicateRecord)
@login_required
@idempotent
def sign_up(path: ActivityPath):
    """Sign up (never more sign-ups than capacity, even under concurrent requests)"""
    signup, activity = activities.sign_up(g.current_user.id, path.activity_id)
    return signup_json(signup, activity), 201


@bp.delete("/activities/<int:activity_id>/signups", responses={204: None})
@refuses(NotFound, AlreadyCheckedIn)
@login_required
def cancel_signup(path: ActivityPath):
    """Cancel the user's sign-up (not after checking in)"""
    activities.cancel_signup(g.current_user.id, path.activity_id)
    return "", 204


@bp.post("/activities/<int:activity_id>/checkin", responses={201: CheckinOut})
@refuses(NotFound, ActivityClosed, CheckinClosed, InvalidCheckinCode, DuplicateRecord)
@login_required
@idempotent
def check_in(path: ActivityPath, body: CheckinCode):
    """Check in with the code shown at the event, during its check-in window; credits the activity's points"""
    result = activities.check_in_with_code(g.current_user.id, path.activity_id, body.code)
    return {"activity_id": path.activity_id, "signup_id": result.signup.id,
            "checked_in_at": result.signup.checked_in_at.isoformat(), "points": result.points}, 201
