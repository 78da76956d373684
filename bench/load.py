"""Requests per second of the app's main endpoints under gunicorn, as ratios to a bare Flask endpoint.

    .venv/bin/python bench/load.py [--database sqlite|postgresql|both] [--duration 15] [--connections 4]
                                   [--workers 2] [--rounds 1] [--reads-only] [--no-pin] [--postgresql-url URL]

Per database: a fresh database (SQLite in a temp dir; on PostgreSQL a new database created on the server
and dropped at the end), migrated, holding a city's population of POPULATION users who are not signed in
(so that the planner sees tables the size of a deployment's, not a few hundred rows it would rather
scan), and the users the load comes from, made directly (consent, account, a bearer token from the
token service, 20 friends each; no WeChat). The app runs under gunicorn (sync workers, production
settings: APP_ENV=production, SECRET_KEY, no debug, rate limits off) on 127.0.0.1, and so do a bare
Flask endpoint and a raw WSGI callable returning a constant (bench/bare_app.py), with the same flags.
wrk (Debian's; one thread, a few connections, bench/load.lua) loads each endpoint for --duration seconds
after a short warm-up: GET /api/v1/me and GET /api/v1/leaderboard cycle through every user's token;
POST /api/v1/trips sends each prepared track once (distinct plausible rides of yesterday, at most the
daily cap per user, spread over the city). Prints req/s, p50/p99 latency and non-2xx answers beside
each one's ratio to bare Flask and its target (reads >= 70%, trip writes >= 30%), with three rows for
context: raw WSGI, the app's own /healthz (no database) and the global board (scope=all). Every run
sits between two runs of bare Flask and is compared with their mean, because on a machine shared with
other work the load drifts within minutes. --rounds N measures the reads and /healthz N times (the trips
once: each track is sent once) and prints the median round with the range. Any non-2xx answer or
socket error fails the run. On 2+ cores wrk is pinned to one core and gunicorn to the other (taskset),
so the load generator's share of the CPU (larger at higher rates) never favours the slow endpoints;
the database server is not pinned.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import current_app  # noqa: E402

from app import create_app  # noqa: E402
from app.database import write_transaction  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Account, Consent, Friendship, User  # noqa: E402
from app.models.types import utcnow  # noqa: E402
from app.services import clock, users  # noqa: E402
from app.services import track_analysis as tracks  # noqa: E402
from app.services.ledger import open_account  # noqa: E402
from tests.tracks import DEFAULT_START, EARTH_RADIUS_M, PEOPLES_SQUARE, parse_t, realistic_track  # noqa: E402

SECRET_KEY = "bench-load-secret-key-0123456789abcdef"
POSTGRESQL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
WARMUP_S = 2
FRIENDS = 20
READS_ONLY_USERS = 1000
POPULATION = 20_000
# Commutes as the mini program records them (fixes every 3-5 s, GPS lost underground), cycled.
RIDES = (("bike", 3.0), ("bike", 3.0), ("bus", 6.0), ("subway", 8.0))
BASE_RIDES = 40
# Each user's trips are yesterday's, one per slot, never overlapping, at most the daily count cap.
FIRST_SLOT_HOUR, SLOT_GAP = 7, timedelta(minutes=75)
# Ride i starts at point i of a square grid this wide over the city (several per 500 m replay cell).
GRID_M, GRID_COLUMNS = 300.0, 100
METRES_PER_DEGREE = math.radians(EARTH_RADIUS_M)


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    ran_out: bool
    first_error: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class Run:
    """How the load is driven: the same for every endpoint."""

    duration: int
    connections: int
    workers: int
    pin: bool
    port: int

    def taskset(self, cpu: int) -> list[str]:
        return ["taskset", "-c", str(cpu)] if self.pin else []

    def wrk(self, url: str, requests_file: Path, seconds: int) -> Result:
        out = subprocess.run(
            [*self.taskset(0), "wrk", "-t1", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "10s",
             "-s", str(BENCH / "load.lua"), url, "--", str(requests_file)],
            check=True, capture_output=True, text=True).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line and " " not in line.split("=")[0])
        return Result(int(values["requests"]), int(values["duration_us"]) / 1e6, int(values["p50_us"]) / 1000,
                      int(values["p99_us"]) / 1000, int(values["non2xx"]), int(values["socket_errors"]),
                      values["ran_out"] == "1", values["first_error"])

    def measure(self, url: str, requests_file: Path, warm_up: bool = True) -> Result:
        """A warm-up (its answers must be 2xx too), then the measured run."""
        if warm_up:
            check(url, self.wrk(url, requests_file, WARMUP_S))
        return check(url, self.wrk(url, requests_file, self.duration))

    @contextmanager
    def gunicorn(self, app: str, port: int, chdir: Path, env: dict[str, str], log: Path) -> Iterator[str]:
        """Serve `app` with the flags every server here shares. Started from bench/, so a gunicorn.conf.py
        in the project root is not read: these flags are the whole configuration."""
        base = f"http://127.0.0.1:{port}"
        with open(log, "ab") as log_file:
            server = subprocess.Popen(
                [*self.taskset(1), str(Path(sys.executable).parent / "gunicorn"), app, "--chdir", str(chdir),
                 "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers), "--worker-class", "sync",
                 "--log-level", "warning"], cwd=BENCH, env=env, stdout=log_file, stderr=log_file)
        try:
            wait_until_up(f"{base}/healthz" if app == "wsgi:app" else base, server, log)
            yield base
        finally:
            server.terminate()
            server.wait(30)


failures: list[str] = []


def check(url: str, result: Result) -> Result:
    if result.ran_out:
        failures.append(f"{url}: the prepared tracks ran out (writes faster than the warm-up promised)")
    if result.non2xx or result.socket_errors:
        failures.append(f"{url}: {result.non2xx} non-2xx answers, {result.socket_errors} socket errors; "
                        f"first: {result.first_error}")
    return result


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"gunicorn did not answer {url}:\n{log.read_text()[-3000:]}")


@contextmanager
def fresh_database(kind: str, workdir: Path, server_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'load.db'}"
        return
    name = f"bench_load_{os.getpid()}"
    admin = sa.make_url(server_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def add_population(count: int) -> None:
    """`count` users with their accounts and no token, in bulk (nobody signs in as them)."""
    now = utcnow()
    version = current_app.config["PRIVACY_POLICY_VERSION"]
    with write_transaction():
        first = db.session.scalar(sa.select(sa.func.count(User.id)))
        db.session.execute(sa.insert(User), [
            {"openid": f"bench-resident-{first + i}", "nickname": f"居民{first + i}", "privacy_version": version,
             "consented_at": now, "created_at": now} for i in range(count)])
        db.session.execute(sa.insert(Account).from_select(
            ["user_id", "balance_points", "earned_points_total", "spent_points_total", "co2_g_total"],
            sa.select(User.id, 0, 0, 0, 0).where(User.openid.like("bench-resident-%"))))


def make_users(count: int) -> list[str]:
    """Users as a WeChat login leaves them (consent, account, a bearer token from the token service),
    made directly; each befriends the 20 made next to it. Returns their tokens."""
    now = utcnow()
    version = current_app.config["PRIVACY_POLICY_VERSION"]
    with write_transaction():
        first = db.session.scalar(sa.select(sa.func.count(User.id)))
        people = [User(openid=f"bench-{first + i}", nickname=f"骑行者{first + i}", privacy_version=version,
                       consented_at=now) for i in range(count)]
        db.session.add_all(people)
        db.session.flush()
        tokens = []
        for person in people:
            open_account(person.id)
            db.session.add(Consent(user_id=person.id, version=version, consented_at=now))
            tokens.append(users._issue_token(person.id, now)[0])
        ids = [person.id for person in people]
        pairs = {(me, ids[(k + step) % count]) for k, me in enumerate(ids)
                 for step in range(-FRIENDS // 2, FRIENDS // 2 + 1) if step % count}
        db.session.execute(sa.insert(Friendship), [{"user_id": me, "friend_id": friend, "created_at": now}
                                                   for me, friend in sorted(pairs)])
    return tokens


class Rides:
    """Distinct plausible trip bodies: a few simulated rides, each sent many times moved to another
    start on the city grid (so no two are the same journey) and to the slot of its rider's day."""

    def __init__(self, day_start: datetime):
        self.day_start = day_start
        self.bases = []
        for b in range(BASE_RIDES):
            mode, km = RIDES[b % len(RIDES)]
            track = realistic_track(mode, km, seed=9000 + b)
            self.bases.append((mode, [(f["lat"], f["lng"], (parse_t(f) - DEFAULT_START)) for f in track]))
        self.times: dict[tuple[int, int], list[str]] = {}

    def body(self, index: int, slot: int) -> str:
        mode, fixes = self.bases[index % len(self.bases)]
        times = self.times.get((index % len(self.bases), slot))
        if times is None:
            start = self.day_start + slot * SLOT_GAP
            times = [(start + dt).isoformat(timespec="milliseconds") for _, _, dt in fixes]
            self.times[(index % len(self.bases), slot)] = times
        row, col = divmod(index, GRID_COLUMNS)
        dlat = (row - GRID_COLUMNS // 2) * GRID_M / METRES_PER_DEGREE
        dlng = (col - GRID_COLUMNS // 2) * GRID_M / (METRES_PER_DEGREE * math.cos(math.radians(PEOPLES_SQUARE[0])))
        points = ",".join(f'{{"lat":{lat + dlat:.8f},"lng":{lng + dlng:.8f},"t":"{t}"}}'
                          for (lat, lng, _), t in zip(fixes, times, strict=True))
        return f'{{"mode":"{mode}","track":[{points}]}}'


def write_trips(path: Path, rides: Rides, first_index: int, count: int, per_user: int) -> list[str]:
    """`count` trips: users made for them (at most `per_user` trips each, the daily cap), rides spread
    over them so consecutive requests come from different people. Spot-checks them as the server will.
    Returns the new users' tokens."""
    tokens = make_users(math.ceil(count / per_user))
    now = clock.now()
    size = 0
    with open(path, "w") as out:
        for k in range(count):
            body = rides.body(first_index + k, slot=k // len(tokens))
            if k < BASE_RIDES or k >= count - BASE_RIDES:
                parsed = json.loads(body)
                tracks.check_plausible(parsed["mode"], tracks.parse_track(parsed["track"]), now)
            out.write(f"{tokens[k % len(tokens)]}\tbench-trip-{first_index + k}\t{body}\n")
            size += len(body)
    print(f"  {count} trips prepared for {len(tokens)} new users (mean body {size / count / 1000:.1f} kB)", flush=True)
    return tokens


@dataclass(frozen=True)
class Row:
    label: str
    result: Result
    bare_rate: float  # bare Flask's req/s, the mean of the runs just before and just after this one
    target: float | None = None


def bench_database(kind: str, args, run: Run, workdir: Path) -> tuple[list[Row], list[Result]]:
    """Each endpoint's run comes between two runs of bare Flask, and is compared with their mean: on a
    machine shared with other work, the load drifts within minutes."""
    rows: list[Row] = []
    print(f"{kind}: load average {os.getloadavg()[0]:.2f}", flush=True)
    no_tokens = workdir / "no-tokens.txt"
    no_tokens.write_text("unused\n")
    token_file = workdir / "tokens.txt"
    bare_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with fresh_database(kind, workdir, args.postgresql_url) as url, ExitStack() as servers:
        bare_base = servers.enter_context(run.gunicorn("bare_app:app", run.port + 1, BENCH, bare_env,
                                                       workdir / "bare.log"))
        raw_base = servers.enter_context(run.gunicorn("bare_app:raw_app", run.port + 2, BENCH, bare_env,
                                                      workdir / "bare.log"))
        bare_runs = [run.measure(f"{bare_base}/", no_tokens)]

        def against_bare(label: str, url: str, requests_file: Path, target: float | None = None,
                         warm_up: bool = True) -> None:
            result = run.measure(url, requests_file, warm_up)
            bare_runs.append(run.measure(f"{bare_base}/", no_tokens))
            rows.append(Row(label, result, (bare_runs[-2].rate + bare_runs[-1].rate) / 2, target))

        against_bare("raw WSGI, constant", f"{raw_base}/", no_tokens)
        app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                                        "UPLOAD_DIR": str(workdir / "uploads"), "RATELIMIT_ENABLED": False})
        env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url,
               "UPLOAD_DIR": str(workdir / "uploads"), "RATELIMIT_ENABLED": "0", "WECHAT_DEV_LOGIN": "0",
               "FLASK_DEBUG": "0"}
        with app.app_context():
            logging.disable(logging.INFO)  # alembic's line per migration
            flask_migrate.upgrade()
            logging.disable(logging.NOTSET)
            yesterday = clock.local_day(clock.now()) - timedelta(days=1)
            rides = Rides(datetime.combine(yesterday, datetime.min.time(), clock.app_zone())
                          + timedelta(hours=FIRST_SLOT_HOUR))
            per_user = app.config["TRIP_DAILY_CAP_COUNT"]
            # Warm-up tracks for half the bare rate; the run's for twice the warm-up's write rate.
            warm_count = math.ceil(bare_runs[0].rate * WARMUP_S / 2)
            add_population(POPULATION)
            if args.reads_only:
                tokens = make_users(READS_ONLY_USERS)
            else:
                tokens = write_trips(workdir / "trips-warmup.txt", rides, 0, warm_count, per_user)
            base = servers.enter_context(run.gunicorn("wsgi:app", run.port, ROOT, env, workdir / "app.log"))
            against_bare("GET /healthz (the app, no database)", f"{base}/healthz", no_tokens)
            if not args.reads_only:
                trips_url = f"{base}/api/v1/trips"
                warm = check(trips_url, run.wrk(trips_url, workdir / "trips-warmup.txt", WARMUP_S))
                run_count = args.trips or math.ceil(max(warm.rate, 20) * 2 * run.duration)
                tokens += write_trips(workdir / "trips.txt", rides, warm_count, run_count, per_user)
                against_bare("POST /api/v1/trips", trips_url, workdir / "trips.txt", 0.30, warm_up=False)
            token_file.write_text("".join(f"{token}\n" for token in tokens))
            # Planner statistics, as a running database has them (autovacuum's analyze on PostgreSQL): on
            # tables filled a moment ago PostgreSQL would otherwise scan users for every token check.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
            reads = [("GET /api/v1/me", f"{base}/api/v1/me", token_file, 0.70),
                     ("GET /api/v1/leaderboard", f"{base}/api/v1/leaderboard", token_file, 0.70),
                     ("GET /api/v1/leaderboard?scope=all", f"{base}/api/v1/leaderboard?scope=all", token_file, None)]
            for label, url, requests_file, target in reads:
                against_bare(label, url, requests_file, target)
            # Further rounds of the reads (and of the app's fixed cost), each again between two bare runs.
            for _ in range(args.rounds - 1):
                against_bare("GET /healthz (the app, no database)", f"{base}/healthz", no_tokens, warm_up=False)
                for label, url, requests_file, target in reads:
                    against_bare(label, url, requests_file, target, warm_up=False)
            trips_kept = db.session.scalar(sa.text("SELECT COUNT(*) FROM trips"))
            print(f"  {kind}: {len(tokens)} users, {trips_kept} trips stored after the run", flush=True)
            db.session.remove()
            db.engine.dispose()
    return rows, bare_runs


def print_table(kind: str, rows: list[Row], bare_runs: list[Result], run: Run) -> None:
    rates = [r.rate for r in bare_runs]
    print(f"\n{kind}: gunicorn {run.workers} sync workers, wrk 1 thread x {run.connections} connections, "
          f"{run.duration} s per run after a {WARMUP_S} s warm-up")
    print(f"{'endpoint':35} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'bare r/s':>8} "
          f"{'vs bare':>7}  target")
    p50, p99 = (statistics.median(getattr(r, f) for r in bare_runs) for f in ("p50_ms", "p99_ms"))
    print(f"{'bare Flask, constant':35} {sum(rates) / len(rates):6.0f} {p50:7.2f} {p99:7.2f} "
          f"{sum(r.non2xx for r in bare_runs):7d}   ({len(rates)} runs, {min(rates):.0f}-{max(rates):.0f} req/s)")
    rounds: dict[str, list[Row]] = {}
    for row in rows:
        rounds.setdefault(row.label, []).append(row)
    for label, measured in rounds.items():
        # Over several rounds: the round with the median ratio, and the range of all of them.
        measured = sorted(measured, key=lambda r: r.result.rate / r.bare_rate)
        row = measured[(len(measured) - 1) // 2]
        ratio = row.result.rate / row.bare_rate
        verdict = "" if row.target is None else f">= {row.target:.0%}  " + ("met" if ratio >= row.target else "MISSED")
        spread = (f"  ({len(measured)} rounds: {measured[0].result.rate / measured[0].bare_rate:.0%}-"
                  f"{measured[-1].result.rate / measured[-1].bare_rate:.0%})" if len(measured) > 1 else "")
        print(f"{label:35} {row.result.rate:6.0f} {row.result.p50_ms:7.2f} {row.result.p99_ms:7.2f} "
              f"{sum(r.result.non2xx for r in measured):7d} {row.bare_rate:8.0f} {ratio:7.0%}  {verdict}{spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint (10-20)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trips", type=int, help="tracks to prepare for the measured write run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the reads (and /healthz) this many times, each between bare runs; "
                             "the table shows the median round and the range")
    parser.add_argument("--reads-only", action="store_true",
                        help=f"skip the trip writes; the reads cycle through {READS_ONLY_USERS} users made directly")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="let wrk and gunicorn share cores")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--postgresql-url", default=POSTGRESQL_SERVER,
                        help="a server where the bench may create and drop a database")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (scripts/setup installs it)")
    run = Run(args.duration, args.connections, args.workers, args.pin and (os.cpu_count() or 1) >= 2, args.port)
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          + ("wrk pinned to CPU 0, gunicorn (all workers) to CPU 1 with taskset" if run.pin
             else "wrk and gunicorn unpinned"))
    if (ROOT / "app" / "ratelimit.py").exists():
        print("rate limits switched off for the bench (RATELIMIT_ENABLED=0)")
    tables = []
    for kind in kinds:
        workdir = Path(tempfile.mkdtemp(prefix=f"load-{kind}-"))
        try:
            tables.append((kind, bench_database(kind, args, run, workdir)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    for kind, (rows, bare_runs) in tables:
        print_table(kind, rows, bare_runs, run)
    print("\nissue #5's reference (sync workers x2): bare Flask 3.2k req/s, raw WSGI 4.3k, one SQLite read through "
          "the ORM 2.0k (63%)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if failures:
        sys.exit("FAILED:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
