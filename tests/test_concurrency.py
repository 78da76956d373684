"""Races against a live server over real connections: one credit, however many requests arrive at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests
import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import LedgerEntry, Record, RecordStatus, User
from app.services import accounting, clock, ledger
from tests import tracks
from tests.api.test_bedtimes import last_night
from tests.races import RACERS, live_login, race

def ledger_rows(app) -> list[tuple[int, Decimal]]:
    with app.app_context():
        return db.session.execute(sa.select(LedgerEntry.record_id, LedgerEntry.points)).all()


def test_twenty_replays_of_one_idempotency_key_credit_once(live_server, app):
    headers = {**live_login(live_server, app, "racer"), "Idempotency-Key": "flaky-network-1"}
    ride = tracks.realistic_track("bike", km=5.0, start=datetime.now(UTC) - timedelta(hours=3))
    responses = race(RACERS, lambda _: requests.post(f"{live_server}/api/v1/trips", headers=headers,
                                                     json={"mode": "bike", "track": ride}, timeout=60))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    assert all(r.json()["error"]["code"] == "idempotency_in_progress" for r in responses if r.status_code == 409)
    assert len({r.text for r in responses if r.status_code == 201}) == 1
    assert len(ledger_rows(app)) == 1


def test_twenty_simultaneous_copies_of_one_trip_credit_once(live_server, app):
    headers = live_login(live_server, app, "copier")
    ride = tracks.realistic_track("bike", km=5.0, start=datetime.now(UTC) - timedelta(hours=3))
    responses = race(RACERS, lambda _: requests.post(f"{live_server}/api/v1/trips", headers=headers,
                                                     json={"mode": "bike", "track": ride}, timeout=60))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1 and statuses[500] == 0, statuses
    assert len(ledger_rows(app)) == 1


def test_twenty_simultaneous_bedtimes_for_one_night_credit_once(live_server, app):
    headers = live_login(live_server, app, "sleeper")
    responses = race(RACERS, lambda _: requests.post(f"{live_server}/api/v1/bedtimes", headers=headers,
                                                     json={"night": last_night(), "bedtime": "22:00"},
                                                     timeout=60))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: RACERS - 1}), [r.text for r in responses if r.status_code != 409]
    assert all(r.json()["error"]["code"] == "duplicate_record" for r in responses if r.status_code == 409)
    assert ledger_rows(app) == [(responses[[r.status_code for r in responses].index(201)].json()["id"],
                                 Decimal("7.8"))]


def _pending_record(app, name: str) -> tuple[int, int]:
    with app.app_context():
        from app.services import users
        user = users.login(f"dev:{name}", app.config["PRIVACY_POLICY_VERSION"]).user
        credit = accounting.credit_for("meal", None, 1, clock.now())
        record = Record(user_id=user.id, kind="meal", subtype=None, status=RecordStatus.PENDING,
                        quantity=Decimal(1), unit="serving", co2_g=credit.co2_g, points=credit.points,
                        factor_id=credit.factor.id, day=clock.local_day(clock.now()))
        db.session.add(record)
        db.session.commit()
        return user.id, record.id


def test_twenty_threads_crediting_one_record_book_one_entry(app):
    user_id, record_id = _pending_record(app, "moderated")

    def credit(_):
        with app.app_context():
            try:
                ledger.credit_record(db.session.get(Record, record_id))
                return "credited"
            except DomainError as exc:
                return exc.code

    outcomes = Counter(race(RACERS, credit))
    assert outcomes == Counter({"credited": 1, "duplicate_record": RACERS - 1}), outcomes
    assert ledger_rows(app) == [(record_id, Decimal("9.6"))]


def test_concurrent_debits_never_take_a_balance_below_zero(app):
    user_id, _ = _pending_record(app, "spender")
    with app.app_context():
        ledger.post_entry(user_id, Decimal("10.0"), "test_credit")

    def debit(_):
        with app.app_context():
            try:
                ledger.post_entry(user_id, Decimal("-3.0"), "test_debit")
                return "ok"
            except DomainError as exc:
                return exc.code

    outcomes = Counter(race(16, debit))
    assert outcomes == Counter({"ok": 3, "insufficient_points": 13}), outcomes
    with app.app_context():
        assert db.session.get(User, user_id).account.balance_points == Decimal("1.0")


def _upload_live(base: str, headers: dict, data: bytes):
    return requests.post(f"{base}/api/v1/photos", headers=headers, data={"kind": "sorting"},
                         files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=60)


def test_ten_users_uploading_one_photo_at_once_are_accepted_once(live_server, app):
    from tests.api.test_photos import COFFEE, jpeg_bytes
    users = [live_login(live_server, app, f"uploader{i}") for i in range(10)]
    data = jpeg_bytes(COFFEE)
    responses = race(10, lambda i: _upload_live(live_server, users[i], data))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: 9}), [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"duplicate_photo",
                                                                                    "duplicate_record"}


def test_near_copies_uploaded_at_once_are_accepted_once(live_server, app):
    from tests.api.test_photos import COFFEE, jpeg_bytes
    users = [live_login(live_server, app, f"copier{i}") for i in range(6)]
    copies = [jpeg_bytes(COFFEE, quality=q) for q in (95, 90, 85, 80, 75, 70)]  # different bytes, one photo
    responses = race(6, lambda i: _upload_live(live_server, users[i], copies[i]))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: 5}), [r.text for r in responses]
