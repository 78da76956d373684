"""The user's own records and ledger entries."""

from flask import g, request

from app.api import bp
from app.api.auth import login_required
from app.api.schemas import ledger_json, record_json
from app.services import records


@bp.get("/records")
@login_required
def list_records():
    rows, next_cursor = records.list_records(
        g.current_user.id, kind=request.args.get("kind") or None,
        status=request.args.get("status") or None,
        limit=records.page_limit(request.args.get("limit")), cursor=request.args.get("cursor"))
    return {"items": [record_json(r) for r in rows], "next_cursor": next_cursor}


@bp.get("/ledger")
@login_required
def list_ledger():
    rows, next_cursor = records.list_ledger(
        g.current_user.id, limit=records.page_limit(request.args.get("limit")),
        cursor=request.args.get("cursor"))
    return {"items": [ledger_json(e) for e in rows], "next_cursor": next_cursor}
