"""write_transaction's contract, which every service relies on, and Write statements inside it: a change
made before it is committed first, nested calls join, a failure rolls everything back, database errors
arrive as the same domain errors, and the SQLite writer lock is always released."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.database import Write, _sqlite_writer_lock, write_transaction
from app.errors import DuplicateRecord, ServiceUnavailable
from app.extensions import db
from app.models import Account, LedgerEntry, LedgerReason, User
from app.services import ledger, users


@pytest.fixture
def ann(app):
    with app.app_context():
        user_id = users.login("dev:ann", app.config["PRIVACY_POLICY_VERSION"]).user.id
        db.session.commit()
        yield user_id
        db.session.remove()


def _lock_released() -> bool:
    lock = _sqlite_writer_lock(db.engine)
    return lock is None or not lock._threads.locked()


def _fresh_balance(user_id: int) -> Decimal:
    db.session.remove()
    return db.session.get(Account, user_id).balance_points


@pytest.mark.parametrize("expire_on_commit", [True, False])
def test_a_change_made_since_the_last_commit_is_committed_before_the_write_transaction(ann, expire_on_commit):
    db.session().expire_on_commit = expire_on_commit
    user = db.session.get(User, ann)
    db.session.commit()
    user.nickname = "Ann"
    with pytest.raises(RuntimeError), write_transaction():
        ledger.post_entry(ann, Decimal("2.0"), LedgerReason.RECORD_CREDIT)
        raise RuntimeError("the write transaction fails")
    db.session.remove()
    assert db.session.get(User, ann).nickname == "Ann"
    assert _fresh_balance(ann) == Decimal("0.0")


def test_nested_write_transactions_join_and_roll_back_together(ann):
    with pytest.raises(RuntimeError), write_transaction():
        ledger.post_entry(ann, Decimal("2.0"), LedgerReason.RECORD_CREDIT)
        with write_transaction():
            ledger.post_entry(ann, Decimal("3.0"), LedgerReason.RECORD_CREDIT)
        raise RuntimeError("the outer call fails after the inner one returned")
    assert _lock_released()
    assert _fresh_balance(ann) == Decimal("0.0")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0


def test_a_constraint_violation_in_a_write_is_duplicate_record_and_leaves_nothing(ann):
    ledger.post_entry(ann, Decimal("1.0"), LedgerReason.RECORD_CREDIT)
    with pytest.raises(DuplicateRecord), write_transaction():
        ledger.post_entry(ann, Decimal("2.0"), LedgerReason.RECORD_CREDIT)
        ledger.post_entry(987_654_321, Decimal("2.0"), LedgerReason.RECORD_CREDIT)  # no such user
    assert _lock_released()
    assert _fresh_balance(ann) == Decimal("1.0")
    ledger.post_entry(ann, Decimal("4.0"), LedgerReason.RECORD_CREDIT)  # the next one goes through
    assert _fresh_balance(ann) == Decimal("5.0")


def test_a_database_error_in_a_write_arrives_as_sqlalchemys_not_the_drivers(ann):
    missing = Write(sa.select(sa.column("x")).select_from(sa.table("no_such_table")))
    with pytest.raises((ServiceUnavailable, sa.exc.DBAPIError)) as raised, write_transaction():
        missing.rows(db.session.connection(), {})
    assert _lock_released()
    if db.engine.dialect.name == "sqlite":  # "no such table" is an OperationalError there
        assert raised.type is ServiceUnavailable
    ledger.post_entry(ann, Decimal("1.5"), LedgerReason.RECORD_CREDIT)
    assert _fresh_balance(ann) == Decimal("1.5")


def test_write_binds_and_reads_back_through_the_column_types(ann):
    accounts = Account.__table__
    points = sa.bindparam("p", type_=accounts.c.balance_points.type)
    add = Write(sa.update(accounts).where(accounts.c.user_id == sa.bindparam("u"))
                .values(balance_points=accounts.c.balance_points + points))
    read = Write(sa.select(accounts.c.balance_points).where(accounts.c.user_id == sa.bindparam("u")))
    with pytest.raises(RuntimeError), write_transaction():
        connection = db.session.connection()
        assert add.execute(connection, {"u": ann, "p": Decimal("0.3")}) == 1
        assert add.execute(connection, {"u": 987_654_321, "p": Decimal("0.3")}) == 0
        assert read.rows(connection, {"u": ann}) == [(Decimal("0.3"),)]
        raise RuntimeError("rolled back: the ledger knows nothing of it")
    assert _fresh_balance(ann) == Decimal("0.0")
