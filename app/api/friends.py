"""Friends from share-card invites, and the leaderboards among friends and everyone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import g
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import BlankIsDefault, Id, Input, PageQuery, Points, Request, Response, UserOut, user_json
from app.errors import NotFound
from app.services import friends, leaderboard, users
from app.services.friends import AlreadyFriends, FriendLimitReached, InvalidInvite


class InviteOut(Response):
    code: str = Field(description="put it in the share card")
    expires_at: datetime


class InviteCode(Request):
    code: str = Field(max_length=64)


class FriendOut(UserOut):
    friends_since: datetime


class FriendPage(Response):
    items: list[FriendOut]
    next_cursor: str | None


class FriendPath(BaseModel):
    user_id: Id


class BoardQuery(Input):
    scope: Annotated[Literal[*leaderboard.SCOPES], BlankIsDefault] = Field(
        "friends", description="friends: the user and every friend, 0 points included; all: the top `limit`")
    period: Annotated[Literal[*leaderboard.PERIODS], BlankIsDefault] = Field(
        "year", description="points earned this week, month or year in the users' calendar")
    limit: int = Field(20, ge=1, le=100, description="scope=all: how many")


class BoardUser(Response):
    id: int
    nickname: str | None
    avatar_url: str | None


class BoardEntry(Response):
    rank: int = Field(description="ties share a rank (1, 1, 3)")
    user: BoardUser
    points: Points


class MyRank(Response):
    rank: int
    points: Points


class BoardOut(Response):
    items: list[BoardEntry]
    me: MyRank


def friend_json(friend: friends.Friend) -> dict:
    return {**user_json(friend.user), "friends_since": friend.since.isoformat()}


@bp.post("/friends/invites", responses={201: InviteOut})
@login_required
@idempotent
def create_friend_invite():
    """A new invite code for a share card"""
    invite = friends.create_invite(g.current_user.id)
    return {"code": invite.code, "expires_at": invite.expires_at.isoformat()}, 201


@bp.post("/friends", responses={201: FriendOut})
@refuses(InvalidInvite, AlreadyFriends, FriendLimitReached)
@login_required
@idempotent
def accept_friend_invite(body: InviteCode):
    """Accept an invite: a mutual friendship (own, unknown or expired code: 422)"""
    return friend_json(friends.accept_invite(g.current_user.id, body.code)), 201


@bp.get("/friends", responses={200: FriendPage})
@login_required
def list_friends(query: PageQuery):
    """The user's friends"""
    rows, next_cursor = friends.list_friends(g.current_user.id, limit=query.limit, cursor=query.cursor)
    return {"items": [friend_json(f) for f in rows], "next_cursor": next_cursor}


@bp.delete("/friends/<int:user_id>", responses={204: None})
@refuses(NotFound)
@login_required
def unfriend(path: FriendPath):
    """End a friendship, both ways"""
    friends.unfriend(g.current_user.id, path.user_id)
    return "", 204


@bp.get("/leaderboard", responses={200: BoardOut})
@login_required
def show_leaderboard(query: BoardQuery):
    """Points earned in the period, highest first; `me` is the user's own rank and points"""
    return board_json(g.current_user, query)


def board_json(user: users.SignedInUser, query: BoardQuery) -> dict:
    return _board_json(leaderboard.board(user.id, query.scope, query.period, limit=query.limit))


def board_json_for_token(token: str | None, query: BoardQuery) -> tuple[int, dict]:
    """GET /leaderboard's answer and the user's id for a bearer token, as app/hot_reads.py makes it: the
    friends board checks the token in its own read."""
    if query.scope == "friends":
        user_id, board = friends.signed_in_friends_board(token, query.period)
        return user_id, _board_json(board)
    user = users.authenticate(token)
    return user.id, board_json(user, query)


def _board_json(board: leaderboard.Board) -> dict:
    return {"items": [{"rank": e.rank, "user": {"id": e.user_id, "nickname": e.nickname, "avatar_url": e.avatar_url},
                       "points": e.points} for e in board.items],
            "me": {"rank": board.my_rank, "points": board.my_points}}
