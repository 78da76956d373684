"""Friends from share-card invites, and the leaderboards among friends and everyone."""

from flask import g, request

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.schemas import json_body, user_json
from app.services import friends, leaderboard, records


def friend_json(friend: friends.Friend) -> dict:
    return {**user_json(friend.user), "friends_since": friend.since.isoformat()}


@bp.post("/friends/invites")
@login_required
@idempotent
def create_friend_invite():
    invite = friends.create_invite(g.current_user.id)
    return {"code": invite.code, "expires_at": invite.expires_at.isoformat()}, 201


@bp.post("/friends")
@login_required
@idempotent
def accept_friend_invite():
    body = json_body(required={"code": str})
    return friend_json(friends.accept_invite(g.current_user.id, body["code"])), 201


@bp.get("/friends")
@login_required
def list_friends():
    rows, next_cursor = friends.list_friends(
        g.current_user.id, limit=records.page_limit(request.args.get("limit")), cursor=request.args.get("cursor"))
    return {"items": [friend_json(f) for f in rows], "next_cursor": next_cursor}


@bp.delete("/friends/<int:user_id>")
@login_required
def unfriend(user_id: int):
    friends.unfriend(g.current_user.id, user_id)
    return "", 204


@bp.get("/leaderboard")
@login_required
def show_leaderboard():
    """scope=friends (default: the user and every friend, 0 points included) or all (the top `limit`);
    period=week|month|year (default year) in the users' calendar."""
    board = leaderboard.board(
        g.current_user.id, leaderboard.parse_scope(request.args.get("scope")),
        leaderboard.parse_period(request.args.get("period")),
        limit=records.page_limit(request.args.get("limit")))
    return {"items": [{"rank": e.rank, "user": {"id": e.user_id, "nickname": e.nickname, "avatar_url": e.avatar_url},
                       "points": e.points} for e in board.items],
            "me": {"rank": board.my_rank, "points": board.my_points}}
