"""Money-like columns keep every digit through the database, and refuse digits they cannot hold."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Account, LedgerEntry
from app.services import ledger


def test_ten_thousand_small_credits_sum_exactly(app, login):
    login("summer")
    with app.app_context():
        from app.models import User
        user_id = db.session.scalar(sa.select(User.id))
        for _ in range(100):
            ledger.post_entry(user_id, Decimal("0.1"), "test_credit", co2_g=Decimal("0.01"))
        total = db.session.scalar(sa.select(sa.func.sum(LedgerEntry.points)).where(LedgerEntry.user_id == user_id))
        account = db.session.get(Account, user_id)
        # 100 × 0.1 is 10.000000000000002 in floats; here it is 10.0 exactly.
        assert total == Decimal("10.0") and account.balance_points == Decimal("10.0")
        assert account.co2_g_total == Decimal("1.00")


def test_a_value_with_more_places_than_the_column_is_refused(app, login):
    login("precise")
    with app.app_context():
        from app.models import User
        user_id = db.session.scalar(sa.select(User.id))
        with pytest.raises(Exception) as caught:
            ledger.post_entry(user_id, Decimal("0.05"), "test_credit")
        assert "decimal places" in str(caught.value)
        db.session.rollback()
        assert db.session.get(Account, user_id).balance_points == Decimal("0.0")
