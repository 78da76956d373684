"""Low-carbon activities near the user: list, sign up, cancel, and check in with the code shown at the event."""

from __future__ import annotations

from flask import g, request

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.schemas import json_body
from app.models import Activity, ActivitySignup
from app.services import activities
from app.services.records import page_limit


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


@bp.get("/activities")
@login_required
def list_activities():
    position = activities.parse_position(request.args.get("lat"), request.args.get("lng"))
    items, next_cursor = activities.upcoming(g.current_user.id, position, page_limit(request.args.get("limit")),
                                             request.args.get("cursor"))
    return {"items": [activity_json(i) for i in items], "next_cursor": next_cursor}


@bp.get("/activities/<int:activity_id>")
@login_required
def get_activity(activity_id: int):
    return activity_json(activities.user_view(g.current_user.id, activities.get_activity(activity_id)))


@bp.post("/activities/<int:activity_id>/signups")
@login_required
@idempotent
def sign_up(activity_id: int):
    signup, activity = activities.sign_up(g.current_user.id, activity_id)
    return signup_json(signup, activity), 201


@bp.delete("/activities/<int:activity_id>/signups")
@login_required
def cancel_signup(activity_id: int):
    activities.cancel_signup(g.current_user.id, activity_id)
    return "", 204


@bp.post("/activities/<int:activity_id>/checkin")
@login_required
@idempotent
def check_in(activity_id: int):
    body = json_body(required={"code": str})
    result = activities.check_in_with_code(g.current_user.id, activity_id, body["code"])
    return {"activity_id": activity_id, "signup_id": result.signup.id,
            "checked_in_at": result.signup.checked_in_at.isoformat(), "points": result.points}, 201
