"""The user's own account: profile and point totals."""

from __future__ import annotations

from flask import g
from pydantic import Field

from app.api import bp
from app.api.auth import login_required
from app.api.schemas import Grams, Points, Request, Response, UserOut, user_json
from app.services import account, users
from app.services.users import PROFILE_LIMITS


class AccountOut(Response):
    balance_points: Points
    earned_points_year: Points
    spent_points_total: Points
    co2_g_total: Grams
    co2_g_year: Grams


class MeOut(Response):
    user: UserOut
    account: AccountOut


class ProfileChanges(Request):
    """Only the fields sent change; null clears one. avatar_url must be https."""

    nickname: str | None = Field(None, max_length=PROFILE_LIMITS["nickname"])
    avatar_url: str | None = Field(None, max_length=PROFILE_LIMITS["avatar_url"])
    city: str | None = Field(None, max_length=PROFILE_LIMITS["city"])


@bp.get("/me", responses={200: MeOut})
@login_required
def me():
    """The user's profile and point totals"""
    return me_json(g.current_user)


def me_json(user: users.SignedInUser) -> dict:
    return _me_json(user, account.account_summary(user.id))


def me_json_for_token(token: str | None) -> tuple[int, dict]:
    """GET /me's answer and the user's id for a bearer token, the token checked in the same read as the
    totals (app/hot_reads.py makes it so)."""
    user, summary = account.signed_in_summary(token)
    return user.id, _me_json(user, summary)


def _me_json(user: users.SignedInUser, summary: account.AccountSummary) -> dict:
    return {"user": user_json(user),
            "account": {"balance_points": summary.balance_points,
                        "earned_points_year": summary.earned_points_year,
                        "spent_points_total": summary.spent_points_total,
                        "co2_g_total": summary.co2_g_total, "co2_g_year": summary.co2_g_year}}


@bp.patch("/me", responses={200: UserOut})
@login_required
def update_me(body: ProfileChanges):
    """Change the profile"""
    return user_json(users.update_profile(g.current_user.id, body.model_dump(exclude_unset=True)))
