"""好友: friendships made from share-card invitations (a WeChat server cannot read a friend list).

An invite code may be opened by several people (a share card goes to a group chat) until it expires;
accepting it makes the two users friends both ways at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError

from app import reads
from app.database import write_transaction
from app.errors import Conflict, DomainError, NotFound, Unauthorized
from app.extensions import db
from app.models import FriendInvite, Friendship, User
from app.models.types import utcnow
from app.services import clock, leaderboard, users
from app.services.records import decode_cursor, encode_cursor


class InvalidInvite(DomainError):
    status, code, message = 422, "invalid_invite", "邀请码无效或已过期"


class AlreadyFriends(Conflict):
    code, message = "already_friends", "你们已经是好友了"


class FriendLimitReached(Conflict):
    code, message = "friend_limit_reached", "好友数量已达上限"


class NotFriends(NotFound):
    message = "对方不是你的好友"


@dataclass(frozen=True)
class Friend:
    user: User
    since: datetime


def create_invite(user_id: int, now: datetime | None = None) -> FriendInvite:
    now = now or utcnow()
    with write_transaction():
        # 128 random bits: a code can be neither guessed nor enumerated.
        invite = FriendInvite(code=secrets.token_urlsafe(16), inviter_id=user_id, created_at=now,
                              expires_at=now + timedelta(days=current_app.config["FRIEND_INVITE_TTL_DAYS"]))
        db.session.add(invite)
        db.session.flush()
        return invite


def accept_invite(user_id: int, code: str, now: datetime | None = None) -> Friend:
    """Make the invite's author and the user friends, both directions in one transaction."""
    now = now or utcnow()
    with write_transaction():
        invite = db.session.scalar(select(FriendInvite).where(FriendInvite.code == code))
        if invite is None:
            raise InvalidInvite(details={"reason": "unknown"})
        if invite.expires_at <= now:
            raise InvalidInvite("邀请码已过期", details={"reason": "expired"})
        if invite.inviter_id == user_id:
            raise InvalidInvite("不能接受自己的邀请", details={"reason": "own_invite"})
        # Lock both users in id order: concurrent accepts between them (or against the cap) queue up.
        users = {u.id: u for u in db.session.scalars(
            select(User).where(User.id.in_(sorted((user_id, invite.inviter_id))))
            .order_by(User.id).with_for_update())}
        inviter = users.get(invite.inviter_id)
        if inviter is None or inviter.deleted_at is not None:
            raise InvalidInvite(details={"reason": "unknown"})
        if db.session.get(Friendship, (user_id, inviter.id)) is not None:
            raise AlreadyFriends()
        limit = current_app.config["FRIENDS_MAX"]
        for uid in (user_id, inviter.id):
            if friend_count(uid) >= limit:
                raise FriendLimitReached(details={"limit": limit})
        try:
            with db.session.begin_nested():
                db.session.add_all([Friendship(user_id=user_id, friend_id=inviter.id, created_at=now),
                                    Friendship(user_id=inviter.id, friend_id=user_id, created_at=now)])
                db.session.flush()
        except IntegrityError:
            raise AlreadyFriends() from None
        return Friend(inviter, now)


def friend_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Friendship).where(Friendship.user_id == user_id))


def list_friends(user_id: int, *, limit: int, cursor: str | None) -> tuple[list[Friend], str | None]:
    """The user's friends, most recent account first (by id), a page at a time."""
    before = decode_cursor(cursor)
    query = (select(User, Friendship.created_at)
             .join(Friendship, and_(Friendship.friend_id == User.id, Friendship.user_id == user_id))
             .where(User.deleted_at.is_(None)))
    if before is not None:
        query = query.where(User.id < before)
    rows = db.session.execute(query.order_by(User.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return [Friend(user, since) for user, since in rows[:limit]], next_cursor


def unfriend(user_id: int, friend_id: int) -> None:
    """End a friendship for both sides."""
    with write_transaction():
        removed = db.session.execute(
            delete(Friendship).where(
                ((Friendship.user_id == user_id) & (Friendship.friend_id == friend_id))
                | ((Friendship.user_id == friend_id) & (Friendship.friend_id == user_id)))
            .execution_options(synchronize_session=False)).rowcount
        if removed == 0:
            raise NotFriends()


def forget_user(user_id: int) -> None:
    """Erase a deleted account's friendships (both directions) and invite codes, in the deletion's
    transaction: a friend list is personal data."""
    db.session.execute(delete(Friendship).where((Friendship.user_id == user_id) | (Friendship.friend_id == user_id))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(FriendInvite).where(FriendInvite.inviter_id == user_id)
                       .execution_options(synchronize_session=False))


# The friends board of the user behind a bearer token, the token checked in the same statement: on a
# database server each statement is a round trip. Each row carries the signed-in user's id.
_FRIENDS_OF_SIGNED_IN = reads.Read(leaderboard.friends_and_me(users.SIGNED_IN_ID, users.SIGNED_IN_ID.label("me")))


def signed_in_friends_board(token: str | None, period: str,
                            now: datetime | None = None) -> tuple[int, leaderboard.Board]:
    """The signed-in user's id and their friends board (401 as users.authenticate)."""
    start = leaderboard.period_starts(now or clock.now())[period]
    found = _FRIENDS_OF_SIGNED_IN.rows({**users.token_params(token), "p_period": period, "p_start": start})
    if not found:  # their own row is always there for a live token
        raise Unauthorized()
    user_id = found[0][-1]
    return user_id, leaderboard.ranked_friends(user_id, [row[:-1] for row in found])
