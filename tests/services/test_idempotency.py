"""Idempotency keys in flight: a concurrent retry waits its turn; a request that died may be run again."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.errors import IdempotencyInProgress
from app.extensions import db
from app.models import IdempotencyKey, User
from app.models.types import utcnow
from app.services import idempotency


@pytest.fixture
def user_id(app, login):
    login("retrier")
    with app.app_context():
        return db.session.scalar(sa.select(User.id))


def test_a_retry_while_the_first_is_in_flight_is_told_so(app, user_id):
    with app.app_context():
        assert idempotency.claim(user_id, "k1", "hash") is None
        with pytest.raises(IdempotencyInProgress):
            idempotency.claim(user_id, "k1", "hash")


def test_a_key_whose_request_died_can_be_claimed_again_after_the_stale_period(app, user_id):
    with app.app_context():
        idempotency.claim(user_id, "k2", "hash")
        stale = timedelta(seconds=app.config["IDEMPOTENCY_STALE_SECONDS"] + 1)
        db.session.execute(sa.update(IdempotencyKey).values(claimed_at=utcnow() - stale))
        db.session.commit()
        assert idempotency.claim(user_id, "k2", "hash") is None


def test_expired_keys_are_purged_by_the_cli(app, user_id):
    with app.app_context():
        idempotency.claim(user_id, "old", "hash")
        idempotency.store_response(user_id, "old", 201, "{}")
        db.session.execute(sa.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "expired idempotency keys removed: 1" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0
