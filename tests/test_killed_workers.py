"""Workers SIGKILLed in the middle of uploads, trips and redemptions leave no half-written state.

gunicorn (tests.gunicorn_faults_app, configured by gunicorn.conf.py, 2 sync workers) serves the app on a
database of its own while clients upload photos, post trips and redeem a reward with little stock, and
workers are killed under them again and again; gunicorn starts new ones. Afterwards every answer a client
received is true in the database, and what the killed requests were doing is either all there or not at all.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from app import create_app
from app.extensions import db
from app.models import LedgerEntry, LedgerReason, Photo, Record, RecordStatus, Redemption, Reward
from app.services import photos
from tests import tracks
from tests.api.test_rewards import give_points, make_reward
from tests.conftest import assert_ledger_matches_balances, reset_database, server_database
from tests.fake_wechat import refused_base_url
from tests.photos import jpeg
from tests.races import live_login

ROOT = Path(__file__).resolve().parent.parent
USERS = 6
KILLS = 8
REWARD_STOCK = 20


@pytest.fixture
def faults_app(tmp_path) -> Iterator[Flask]:
    """The checking side's app, on a fresh database and photo folder that only this test uses."""
    given = os.environ.get("TEST_DATABASE_URL")
    with server_database(given) if given else nullcontext(f"sqlite:///{tmp_path / 'faults.db'}") as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "uploads")})
        reset_database(app)
        yield app
        with app.app_context():
            db.engine.dispose()


@dataclass
class Gunicorn:
    base: str
    master: subprocess.Popen
    log: Path
    built_log: Path  # the pid of every process that built the app (tests.gunicorn_app)

    def log_entries(self) -> list[dict]:
        """Everything gunicorn and its workers wrote: with LOG_FORMAT=json, every line one JSON object."""
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def log_after_reaping(self, killed: int, deadline_s: float = 10) -> list[dict]:
        """The log once the arbiter has noticed (and logged) all `killed` workers' deaths."""
        give_up = time.monotonic() + deadline_s
        while True:
            entries = self.log_entries()
            if sum("was sent SIGKILL" in e["message"] for e in entries) >= killed or time.monotonic() > give_up:
                return entries
            time.sleep(0.1)

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def holds_a_client_connection(self, pid: int) -> bool:
        """Whether worker `pid` has a client connection open, i.e. is serving a request right now."""
        port = int(self.base.rsplit(":", 1)[1])
        try:
            sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            return False  # it just exited
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
                if local_port == port and state == "01" and f"socket:[{inode}]" in sockets:  # ESTABLISHED
                    return True
        return False

    def wait_until_serving(self, deadline_s: float = 60) -> None:
        give_up = time.monotonic() + deadline_s
        while time.monotonic() < give_up:
            assert self.master.poll() is None, "gunicorn exited"
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # no worker has finished booting yet
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start serving")


@pytest.fixture
def gunicorn_env() -> dict[str, str]:
    """Extra environment for gunicorn (a test parametrizes it)."""
    return {}


@pytest.fixture
def gunicorn(faults_app, tmp_path, gunicorn_env) -> Iterator[Gunicorn]:
    port = int(refused_base_url().rsplit(":", 1)[1])
    overrides = {"SQLALCHEMY_DATABASE_URI": faults_app.config["SQLALCHEMY_DATABASE_URI"],
                 "UPLOAD_DIR": faults_app.config["UPLOAD_DIR"]}
    env = {**os.environ, "TEST_APP_OVERRIDES": json.dumps(overrides), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1", "GUNICORN_GRACEFUL_TIMEOUT": "5",
           "LOG_FORMAT": "json", "TEST_APP_BUILT_LOG": str(tmp_path / "built.log"), **gunicorn_env}
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                   "tests.gunicorn_app:create()"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    server = Gunicorn(f"http://127.0.0.1:{port}", master, log, tmp_path / "built.log")
    try:
        server.wait_until_serving()
        yield server
    finally:
        master.terminate()
        try:
            master.wait(30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


def _photo(rng: np.random.Generator) -> bytes:
    """A smooth random picture: every one a different photo to the duplicate check."""
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return jpeg(Image.fromarray(coarse).resize((640, 480), Image.Resampling.BICUBIC), quality=85)


def _jobs(app: Flask, base: str, users: list[dict[str, str]], reward_id: int) -> list[tuple[str, object]]:
    """(what, call) for every request the clients will send, shuffled."""
    rng = np.random.default_rng(7)
    today = datetime.now(ZoneInfo(app.config["APP_TIMEZONE"])).date().isoformat()
    jobs = []

    def upload(headers, data, form):
        files = {"file": ("photo.jpg", io.BytesIO(data), "image/jpeg")}
        return requests.post(f"{base}/api/v1/photos", headers=headers, data=form, files=files, timeout=60)

    for n, headers in enumerate(users):
        pictures = [_photo(rng) for _ in range(8)]
        for data in pictures[:3]:
            jobs.append(("upload", lambda h=headers, d=data: upload(h, d, {"kind": "sorting"})))
        for data in pictures[3:]:
            jobs.append(("upload", lambda h=headers, d=data: upload(
                h, d, {"kind": "recycling", "material": "paper", "weight_kg": "1.5"})))
        # Someone else uploads this user's first picture again: refused, nothing may stay behind.
        neighbour = users[(n + 1) % len(users)]
        jobs.append(("upload", lambda h=neighbour, d=pictures[0]: upload(
            h, d, {"kind": "meal", "meal": "breakfast", "date": today})))
        for hours in (6, 3):
            track = tracks.realistic_track("bike", km=3.0, seed=100 * n + hours,
                                           start=datetime.now(UTC) - timedelta(hours=hours))
            jobs.append(("trip", lambda h=headers, t=track: requests.post(
                f"{base}/api/v1/trips", headers=h, json={"mode": "bike", "track": t}, timeout=60)))
        for _ in range(6):
            jobs.append(("redeem", lambda h=headers: requests.post(
                f"{base}/api/v1/rewards/{reward_id}/redemptions", headers=h, timeout=60)))
    random.Random(7).shuffle(jobs)
    return jobs


def _send(job: tuple[str, object], stalled: threading.Event) -> tuple[str, object, dict | None]:
    what, call = job
    if stalled.is_set():
        return what, "not sent", None  # the server stopped answering: fail now, not after every timeout
    try:
        response = call()
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return what, "cut", None  # its worker was killed under it (before or while answering)
    except requests.Timeout:
        stalled.set()
        return what, "timeout", None
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return what, response.status_code, response.json() if is_json else {"text": response.text[:200]}


def _kill_workers(server: Gunicorn, done: threading.Event) -> list[int]:
    """SIGKILL a worker in the middle of a request, every half second or so, until KILLS were killed."""
    rng = random.Random(11)
    killed: list[int] = []
    while len(killed) < KILLS and not done.is_set():
        busy = [pid for pid in server.workers() if server.holds_a_client_connection(pid)]
        if not busy:
            done.wait(0.005)
            continue
        done.wait(rng.uniform(0, 0.03))  # anywhere in the request: parsing, hashing, writing, committing
        victim = rng.choice(busy)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        done.wait(rng.uniform(0.3, 0.7))
    return killed


def test_killing_workers_mid_request_leaves_no_half_written_state(faults_app, gunicorn):
    users = [live_login(gunicorn.base, faults_app, f"victim{i}") for i in range(USERS)]
    for headers in users:
        uid = requests.get(f"{gunicorn.base}/api/v1/me", headers=headers, timeout=10).json()["user"]["id"]
        give_points(faults_app, uid, "100.0")
    reward_id = make_reward(faults_app, cost="10.0", stock=REWARD_STOCK)
    jobs = _jobs(faults_app, gunicorn.base, users, reward_id)

    done = threading.Event()
    with ThreadPoolExecutor(1) as killer, ThreadPoolExecutor(6) as clients:
        killing = killer.submit(_kill_workers, gunicorn, done)
        stalled = threading.Event()
        results = list(clients.map(lambda job: _send(job, stalled), jobs))
        done.set()
        killed = killing.result()
    outcomes = Counter((what, status) for what, status, _ in results)
    print(f"\nworkers killed: {len(killed)}; outcomes: {dict(outcomes)}")
    assert not stalled.is_set(), f"the server stopped answering: {outcomes}"
    gunicorn.wait_until_serving()  # gunicorn replaced every killed worker
    entries = gunicorn.log_after_reaping(len(killed))
    assert sum("was sent SIGKILL" in entry["message"] for entry in entries) == len(killed)
    assert sum(entry["logger"] == "app.access" for entry in entries) >= len(jobs) - len(killed)
    assert len(killed) >= 3 and sum(n for (_, status), n in outcomes.items() if status == "cut") >= 1, outcomes
    refusals = {"upload": {"duplicate_photo"}, "trip": set(), "redeem": {"out_of_stock", "insufficient_points"}}
    for what, status, body in results:
        assert status in (201, "cut") or (status == 409 and body["error"]["code"] in refusals[what]), body

    with faults_app.app_context():
        assert_ledger_matches_balances()
        _assert_answers_are_durable(results)
        _assert_redemptions_whole(reward_id)
        _assert_credits_match_records()
        orphans = photos.sweep_orphans(min_age_seconds=0)  # what `flask purge` does, without waiting an hour
        print(f"orphan photo files swept: {orphans}")
        _assert_photos_and_files_match(faults_app.config["UPLOAD_DIR"])


@pytest.mark.parametrize("gunicorn_env", [{"GUNICORN_MAX_REQUESTS": "8", "GUNICORN_MAX_REQUESTS_JITTER": "0"}])
def test_recycled_workers_are_forks_of_the_app_built_once(faults_app, gunicorn):
    """gunicorn.conf.py preloads the app: a worker recycled after max_requests is a fork of the master,
    not a new boot of the app (~2.4 s of CPU each), and each fork reads and writes on connections of its own."""
    headers = live_login(gunicorn.base, faults_app, "recycled")
    served_by, nicknames = set(), []
    for n in range(40):
        changed = requests.patch(f"{gunicorn.base}/api/v1/me", headers=headers, json={"nickname": f"骑行者{n}"},
                                 timeout=10)
        seen = requests.get(f"{gunicorn.base}/api/v1/me", headers=headers, timeout=10)
        assert changed.status_code == 200 and seen.status_code == 200, (changed.text, seen.text)
        served_by |= {changed.headers["X-Worker-Pid"], seen.headers["X-Worker-Pid"]}
        nicknames.append(seen.json()["user"]["nickname"])
    assert nicknames == [f"骑行者{n}" for n in range(40)]  # every write seen by the next read, in any worker
    assert len(served_by) >= 6, served_by  # 81 requests, 8 per worker: workers were recycled
    assert gunicorn.built_log.read_text().split() == [str(gunicorn.master.pid)]  # built once, in the master


def _assert_answers_are_durable(results) -> None:
    """A 201 the client saw is in the database."""
    created = [(what, body["id"]) for what, status, body in results if status == 201]
    record_ids = {i for what, i in created if what != "redeem"}
    redemption_ids = {i for what, i in created if what == "redeem"}
    assert set(db.session.scalars(sa.select(Record.id).where(Record.id.in_(record_ids)))) == record_ids
    assert set(db.session.scalars(
        sa.select(Redemption.id).where(Redemption.id.in_(redemption_ids)))) == redemption_ids


def _assert_redemptions_whole(reward_id: int) -> None:
    """Stock taken == coupons issued <= stock, and each coupon has exactly its one debit."""
    reward = db.session.get(Reward, reward_id)
    redemptions = db.session.scalars(sa.select(Redemption).where(Redemption.reward_id == reward_id)).all()
    assert len(redemptions) == reward.stock_total - reward.stock_left <= reward.stock_total
    debits = db.session.execute(sa.select(LedgerEntry.redemption_id, LedgerEntry.points).where(
        LedgerEntry.reason == LedgerReason.REDEMPTION)).all()
    assert sorted(debits) == sorted((r.id, -r.points) for r in redemptions)


def _assert_credits_match_records() -> None:
    """Every credited record has exactly one credit of its own points; nothing else is credited."""
    credits = db.session.execute(sa.select(LedgerEntry.record_id, LedgerEntry.points).where(
        LedgerEntry.reason == LedgerReason.RECORD_CREDIT, LedgerEntry.record_id.is_not(None))).all()
    credited = db.session.execute(sa.select(Record.id, Record.points).where(
        Record.status == RecordStatus.CREDITED)).all()
    assert sorted(credits) == sorted(credited) and credited


def _assert_photos_and_files_match(upload_dir: str) -> None:
    """Every photo record has its complete file, and no file (nor a half-written one) lacks a record."""
    photo_kinds = ("sorting", "recycling", "meal")
    records = db.session.scalar(sa.select(sa.func.count()).select_from(Record).where(Record.kind.in_(photo_kinds)))
    rows = db.session.execute(sa.select(Photo.storage_key, Photo.byte_size)).all()
    assert records == len(rows) > 0
    files = {path.name: path.stat().st_size for path in Path(upload_dir).rglob("*") if path.is_file()}
    assert files == dict(rows)
