"""Friends (from share-card invitations) and the per-period point totals the leaderboards read."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, FixedDecimal, UTCDateTime, utcnow


class FriendInvite(db.Model):
    """An opaque code the mini program puts in its share card; anyone who opens it before it
    expires may become the inviter's friend (a WeChat server can never read a friend list)."""

    __tablename__ = "friend_invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    inviter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Friendship(db.Model):
    """One direction of a mutual friendship; both directions are stored, so "my friends" is one lookup."""

    __tablename__ = "friendships"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    friend_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PeriodPoints(db.Model):
    """Points a user earned in one week, month or year (Asia/Shanghai calendar), kept in the same
    transaction as the ledger entries, so leaderboards never sum the ledger at read time."""

    __tablename__ = "period_points"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    period: Mapped[str] = mapped_column(sa.String(8))  # week | month | year
    period_start: Mapped[date] = mapped_column(sa.Date)
    points = mapped_column(FixedDecimal(1), nullable=False)

    __table_args__ = (
        # The user first (migration 0011): one user's week, month and year rows sit side by side, so
        # an earning rewrites one leaf of the key, and the key also finds every row of a user.
        sa.PrimaryKeyConstraint("user_id", "period", "period_start"),
        # The board: highest first within one period; also answers "how many are ahead of me".
        sa.Index("ix_period_points_board", "period", "period_start", "points", "user_id"),
        # SQLite: rows live in the primary key's b-tree (migration 0010), so an earning finds and rewrites
        # each row there, not through the key's index and then the table; PostgreSQL ignores it, InnoDB
        # does this anyway.
        {"sqlite_with_rowid": False},
    )


class PeriodPointsBucket(db.Model):
    """How many users' totals of one period fall in one band of points: the histogram that answers
    "my rank" without counting everyone ahead (see leaderboard.band_of for the bands). Moved in the
    same transaction as period_points, only when a total crosses into another band."""

    __tablename__ = "period_points_buckets"

    period: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    period_start: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    points_from = mapped_column(FixedDecimal(1), primary_key=True, autoincrement=False)  # the band's lowest total
    users: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    # SQLite: the sum over bands reads the primary key alone, with the count beside each key.
    __table_args__ = {"sqlite_with_rowid": False}
