"""The user's own records and ledger entries."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import g

from app.api import bp
from app.api.auth import login_required
from app.api.schemas import (
    RECORD_KINDS, RECORD_STATUSES, BlankIsDefault, LedgerPage, PageQuery, RecordPage, ledger_json, record_json,
)
from app.services import explanations, records


class RecordQuery(PageQuery):
    kind: Annotated[Literal[*RECORD_KINDS] | None, BlankIsDefault] = None
    status: Annotated[Literal[*RECORD_STATUSES] | None, BlankIsDefault] = None


@bp.get("/records", responses={200: RecordPage})
@login_required
def list_records(query: RecordQuery):
    """The user's own records, newest first"""
    rows, next_cursor = records.list_records(g.current_user.id, kind=query.kind, status=query.status,
                                             limit=query.limit, cursor=query.cursor)
    items = [record_json(r, e) for r, e in zip(rows, explanations.explain_all(rows), strict=True)]
    return {"items": items, "next_cursor": next_cursor}


@bp.get("/ledger", responses={200: LedgerPage})
@login_required
def list_ledger(query: PageQuery):
    """The user's point entries, newest first (signed: credits positive, spending negative)"""
    rows, next_cursor = records.list_ledger(g.current_user.id, limit=query.limit, cursor=query.cursor)
    return {"items": [ledger_json(e) for e in rows], "next_cursor": next_cursor}
