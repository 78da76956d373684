"""Migration 0012: the ledger's guards against booking a record, a redemption or an activity sign-up twice
are unique indexes over the entries that name one (SQLite, PostgreSQL), so entries without one skip them.
A second booking is refused before and after the change, and every entry survives it both ways."""

from __future__ import annotations

from decimal import Decimal

import flask_migrate
import pytest
import sqlalchemy as sa

from app.errors import DuplicateRecord
from app.extensions import db
from app.models import Account, LedgerEntry, LedgerReason
from app.services import ledger
from tests.api.test_privacy import make_a_full_life, moderator_id  # noqa: F401 (a fixture)

GUARDS = {"record_id": LedgerReason.RECORD_CREDIT, "redemption_id": LedgerReason.REDEMPTION,
          "signup_id": LedgerReason.ACTIVITY_ATTENDANCE}


def _guards() -> dict[str, dict]:
    """The ledger's unique guards by name: their columns and, where partial, their condition."""
    db.session.remove()
    inspector = sa.inspect(db.engine)
    found = {ix["name"]: ix for ix in inspector.get_indexes("ledger_entries") if ix.get("unique")}
    for constraint in inspector.get_unique_constraints("ledger_entries"):
        found.setdefault(constraint["name"], {"column_names": constraint["column_names"]})
    where = f"{db.engine.dialect.name}_where"
    return {name: {"columns": ix["column_names"], "where": str(ix.get("dialect_options", {}).get(where, ""))}
            for name, ix in found.items() if name.startswith("uq_ledger_entries_")}


def _booked_entries(user_id: int) -> dict[str, tuple]:
    """The user's entry for a record, a redemption and an attendance: (points, reason, what it names)."""
    entries = db.session.execute(sa.select(LedgerEntry.__table__).where(LedgerEntry.user_id == user_id)).all()
    return {column: next((e.points, e.reason, getattr(e, column)) for e in entries
                         if getattr(e, column) is not None and e.reason == reason)
            for column, reason in GUARDS.items()}


def _each_booked_twice_is_refused(user_id: int) -> None:
    balance = db.session.get(Account, user_id).balance_points
    for column, (points, reason, named) in _booked_entries(user_id).items():
        with pytest.raises(DuplicateRecord):
            ledger.post_entry(user_id, points, reason, **{column: named})
        db.session.remove()
    assert db.session.get(Account, user_id).balance_points == balance


def test_a_record_redemption_or_sign_up_is_booked_once_before_and_after_0012(client, login, app, moderator_id):  # noqa: F811
    ann = make_a_full_life(client, login, app, moderator_id, "ann", seed=1)
    with app.app_context():
        partial = db.engine.dialect.name in ("sqlite", "postgresql")
        expected = {f"uq_ledger_entries_{column}_reason": [column, "reason"] for column in GUARDS}
        now = _guards()
        assert {name: guard["columns"] for name, guard in now.items()} == expected
        for column in GUARDS:  # only entries naming one are in its index; MariaDB indexes them all
            where = now[f"uq_ledger_entries_{column}_reason"]["where"].lower()
            assert (f"{column} is not null" in where) if partial else where == ""
        entries = sorted(db.session.execute(sa.select(LedgerEntry.__table__)).all())
        assert len(entries) >= 4  # the trip, the photo, the redemption, the attendance …
        _each_booked_twice_is_refused(ann["id"])

        db.session.remove()
        flask_migrate.downgrade(revision="0011")
        assert {name: guard["where"] for name, guard in _guards().items()} == dict.fromkeys(expected, "")
        assert sorted(db.session.execute(sa.select(LedgerEntry.__table__)).all()) == entries
        _each_booked_twice_is_refused(ann["id"])

        db.session.remove()
        flask_migrate.upgrade()
        assert _guards() == now
        assert sorted(db.session.execute(sa.select(LedgerEntry.__table__)).all()) == entries
        _each_booked_twice_is_refused(ann["id"])
        db.session.remove()
    # Refused bookings left nothing behind: the balance is still the sum of the entries.
    me = client.get("/api/v1/me", headers=ann["headers"]).get_json()
    ledger_total = sum(row.points for row in entries if row.user_id == ann["id"])
    assert Decimal(str(me["account"]["balance_points"])) == ledger_total
