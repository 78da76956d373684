"""The mini program's side of partner data: the partners on offer and the user's approvals (bindings).

Registered on the mini program's blueprint (/api/v1), beside the other user endpoints."""

from __future__ import annotations

from datetime import datetime

from flask import g
from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import login_required
from app.api.idempotency import idempotent
from app.api.openapi import refuses
from app.api.schemas import Id, Request, Response
from app.errors import NotFound
from app.models.partners import Partner, PartnerBinding
from app.services import partners


class PartnerOut(Response):
    id: int
    name: str
    kinds: list[str] = Field(description="the behaviours this partner may report: travel, recycling, sorting, meal")


class PartnerList(Response):
    items: list[PartnerOut]
    next_cursor: str | None


class BindingIn(Request):
    partner_id: Id


class BindingOut(Response):
    """The user's approval. `id` is what the mini program hands to the partner: opaque, never the openid."""

    id: str
    partner: PartnerOut
    created_at: datetime


class BindingList(Response):
    items: list[BindingOut]
    next_cursor: str | None


class BindingPath(BaseModel):
    binding_id: str = Field(max_length=64)


def partner_json(partner: Partner) -> dict:
    return {"id": partner.id, "name": partner.name, "kinds": partner.kinds}


def binding_json(binding: PartnerBinding) -> dict:
    return {"id": binding.public_id, "partner": partner_json(binding.partner),
            "created_at": binding.created_at.isoformat()}


@bp.get("/partners", responses={200: PartnerList})
@login_required
def list_partners():
    """The data partners a user may approve (bike-share, metro, recycling stations, canteens)"""
    return {"items": [partner_json(p) for p in partners.active_partners()], "next_cursor": None}


@bp.post("/partner-bindings", responses={201: BindingOut, 200: BindingOut})
@refuses(NotFound, partners.PartnerSuspended)
@login_required
@idempotent
def bind_partner(body: BindingIn):
    """Approve a partner to report the user's behaviours: 201 with a new binding, 200 with the active one"""
    binding, created = partners.bind(g.current_user.id, body.partner_id)
    return binding_json(binding), 201 if created else 200


@bp.get("/partner-bindings", responses={200: BindingList})
@login_required
def list_bindings():
    """The user's active partner bindings"""
    return {"items": [binding_json(b) for b in partners.user_bindings(g.current_user.id)], "next_cursor": None}


@bp.delete("/partner-bindings/<binding_id>", responses={204: None})
@refuses(NotFound)
@login_required
def revoke_binding(path: BindingPath):
    """Revoke a binding: the partner's later events for it are refused (422 unknown_binding)"""
    partners.revoke(g.current_user.id, path.binding_id)
    return "", 204
