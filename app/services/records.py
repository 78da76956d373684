"""Reading a user's own records and ledger entries, newest first, a page at a time."""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import ValidationFailed
from app.extensions import db
from app.models import LedgerEntry, Record

RECORD_KINDS = ("travel", "sorting", "recycling", "bedtime", "meal")
RECORD_STATUSES = ("pending", "credited", "rejected")
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix == "id" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(details={"field": "cursor", "problem": "not a cursor this server gave"})


def newest_first_page(query, model, limit: int, cursor: str | None):
    """One page of `query`'s rows, newest (highest id) first, and the cursor of the next page or None."""
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(model.id < before)
    rows = db.session.scalars(query.order_by(model.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def list_records(user_id: int, *, kind: str | None, status: str | None, limit: int, cursor: str | None):
    if kind is not None and kind not in RECORD_KINDS:
        raise ValidationFailed(details={"field": "kind", "allowed": list(RECORD_KINDS)})
    if status is not None and status not in RECORD_STATUSES:
        raise ValidationFailed(details={"field": "status", "allowed": list(RECORD_STATUSES)})
    query = (select(Record).where(Record.user_id == user_id)
             .options(selectinload(Record.factor), selectinload(Record.trip), selectinload(Record.photo)))
    if kind:
        query = query.where(Record.kind == kind)
    if status:
        query = query.where(Record.status == status)
    return newest_first_page(query, Record, limit, cursor)


def list_ledger(user_id: int, *, limit: int, cursor: str | None):
    return newest_first_page(select(LedgerEntry).where(LedgerEntry.user_id == user_id), LedgerEntry, limit, cursor)
