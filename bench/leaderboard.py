"""Leaderboards over 1,000,000 users and 10,000,000 ledger entries: period totals vs summing the ledger.

    .venv/bin/python bench/leaderboard.py [--users 1000000] [--entries 10000000] [--friends 200]
                                          [--queries 30] [--credits 10000] [--database-url URL]

Builds (SQLite in a temp dir unless --database-url names an empty database) the users, their ledger
entries spread over this year up to now (written in time order into the app's indexes, as a ledger
grows), the period_points rows those entries imply and one median user with --friends friends; then
prints the median times of the global top 100, that user's friends board and their "my rank" for this
year, each beside the same answer computed from the ledger at read time (SUM over ledger_entries grouped
by user, with an index on (user_id, created_at)), and how many earnings per second post_entry books with
the period totals and their histogram maintained (each call its own transaction, each earning naming
its record, on the app's schema: the ledger-side index is dropped first).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
import numpy as np
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import EmissionFactor, LedgerReason, Record
from app.services import clock, leaderboard, ledger

BATCH = 20_000
EARNINGS = tuple(LedgerReason.EARNINGS)


class Loader:
    """Bulk inserts through the raw driver connection: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, engine: sa.Engine):
        self.dialect = engine.dialect.name
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.cursor = self.conn.cursor()
        if self.dialect == "sqlite":
            for pragma in ("foreign_keys=OFF", "journal_mode=WAL", "synchronous=OFF", "cache_size=-1000000"):
                self.cursor.execute(f"PRAGMA {pragma}")
            self.cursor.execute("BEGIN")
        elif self.dialect in ("mysql", "mariadb"):
            self.cursor.execute("SET foreign_key_checks=0, unique_checks=0")

    def value(self, moment):
        """SQLite keeps times and days as text in SQLAlchemy's format; the others take objects."""
        if self.dialect != "sqlite":
            return moment.replace(tzinfo=None) if isinstance(moment, datetime) else moment
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(moment, datetime) else moment.isoformat()

    def insert(self, table: str, columns: tuple[str, ...], rows) -> None:
        if self.dialect == "postgresql":
            with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            self.cursor.executemany(sql, batch)

    def execute(self, sql: str) -> None:
        self.cursor.execute(sql)

    def commit(self) -> None:
        self.conn.commit() if self.dialect != "sqlite" else self.cursor.execute("COMMIT")
        if self.dialect == "sqlite":
            self.cursor.execute("BEGIN")

    def close(self) -> None:
        if self.dialect == "sqlite":
            self.cursor.execute("COMMIT")
            # The app should not read through a 2 GB WAL; fetch the answer, or the statement stays open.
            self.cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        else:
            self.conn.commit()
        # Closed for good, not returned to the pool: with its bulk-load settings (no sync, no foreign keys,
        # a 1 GB cache) the crediting loop below measured that connection, not the app's (2,286 a second
        # where the app's own settings give ~1,850).
        self.raw.invalidate()


# The ledger-side index is built after the load (one sort instead of millions of random inserts). The
# app's own indexes are there while the rows go in, as in a year of use: ix_ledger_entries_user_newest
# and the board index take inserts in random key order and leave their pages partly free. Built after the
# load instead, their leaves were packed full and nearly every credit split one (19 pages written a
# credit instead of 16), a state a database is in only right after an index is rebuilt.
BASELINE_INDEX = ("ix_bench_ledger_user_created", "ledger_entries (user_id, created_at)")


def build(loader: Loader, args, now: datetime) -> tuple[list[int], int]:
    """Load users, accounts, ledger entries and their period totals; returns each user's year points
    (in tenths) and the number of entries."""
    zone = clock.app_zone()
    today = clock.local_day(now)
    year_start = date(today.year, 1, 1)
    days = (today - year_start).days + 1
    midnights = [datetime.combine(year_start + timedelta(days=d), datetime.min.time(), tzinfo=zone).astimezone(UTC)
                 for d in range(days)]
    seconds_today = int((now - midnights[-1]).total_seconds())
    starts = [leaderboard.period_starts(m + timedelta(hours=12)) for m in midnights]
    created = loader.value(datetime(today.year, 1, 1, tzinfo=UTC))

    loader.insert("users", ("id", "nickname", "privacy_version", "consented_at", "created_at"),
                  ((uid, f"user{uid}", "bench", created, created) for uid in range(1, args.users + 1)))
    loader.insert("accounts", ("user_id", "balance_points", "earned_points_total", "spent_points_total",
                               "co2_g_total"), ((uid, 0, 0, 0, 0) for uid in range(1, args.users + 1)))
    loader.commit()

    # The entries, drawn at once: who (some users far more active than others), when (any second of
    # the year so far), how much; then written in time order, as a real ledger grows.
    gen = np.random.default_rng(2026)
    started = time.perf_counter()
    activity = gen.exponential(1.0, args.users)
    user = gen.choice(args.users, size=args.entries, p=activity / activity.sum()) + 1
    day = gen.integers(0, days, args.entries)
    second = gen.integers(0, 86_400, args.entries)
    second[day == days - 1] %= max(seconds_today, 1)
    points = gen.integers(1, 301, args.entries)  # tenths: 0.1 to 30.0 points
    attendance = gen.random(args.entries) < 0.1
    moment = (np.array([int(m.timestamp()) for m in midnights], dtype=np.int64)[day] + second).astype("datetime64[s]")
    order = np.argsort(moment, kind="stable")
    user, day, points, attendance, moment = user[order], day[order], points[order], attendance[order], moment[order]

    for first in range(0, args.entries, 100_000):
        window = slice(first, first + 100_000)
        if loader.dialect == "sqlite":
            created = np.char.replace(np.datetime_as_string(moment[window], unit="us"), "T", " ").tolist()
        else:
            created = moment[window].astype("datetime64[us]").astype(object).tolist()
        reasons = np.where(attendance[window], LedgerReason.ACTIVITY_ATTENDANCE, LedgerReason.RECORD_CREDIT).tolist()
        loader.insert("ledger_entries", ("id", "user_id", "points", "reason", "created_at"),
                      zip(range(first + 1, first + 1 + len(created)), user[window].tolist(),
                          points[window].tolist(), reasons, created, strict=True))
        loader.commit()

    # The period totals those entries imply: one bincount per period over (user, period of the day), then
    # written in the primary key's order (user, period, start), as one sorted run.
    columns: dict[str, list] = {"user": [], "period": [], "start": [], "points": []}
    period_names = sorted(leaderboard.PERIODS)  # the key's order of the period column
    for period in leaderboard.PERIODS:
        period_starts = sorted({s[period] for s in starts})
        index_of_day = np.array([period_starts.index(s[period]) for s in starts], dtype=np.int64)
        sums = np.bincount(user * len(period_starts) + index_of_day[day], weights=points,
                           minlength=(args.users + 1) * len(period_starts)).astype(np.int64)
        keys = np.nonzero(sums)[0]
        columns["user"].append(keys // len(period_starts))
        columns["period"].append(np.full(len(keys), period_names.index(period)))
        columns["start"].append(np.array([s.toordinal() for s in period_starts])[keys % len(period_starts)])
        columns["points"].append(sums[keys])
    user_, period_, start_, points_ = (np.concatenate(parts) for parts in columns.values())
    order = np.lexsort((start_, period_, user_))
    start_values = {d: loader.value(date.fromordinal(d)) for d in np.unique(start_).tolist()}
    for chunk in range(0, len(order), 200_000):
        part = order[chunk:chunk + 200_000]
        loader.insert("period_points", ("user_id", "period", "period_start", "points"),
                      zip(user_[part].tolist(), [period_names[p] for p in period_[part].tolist()],
                          [start_values[d] for d in start_[part].tolist()],
                          points_[part].tolist(), strict=True))
        loader.commit()
    year_points = np.bincount(user, weights=points, minlength=args.users + 1).astype(np.int64).tolist()
    entry_id = args.entries
    print(f"  ledger and period totals loaded in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    loader.execute(f"CREATE INDEX {BASELINE_INDEX[0]} ON {BASELINE_INDEX[1]}")
    if loader.dialect == "postgresql":
        for table in ("users", "ledger_entries"):  # ids were given explicitly: move the sequences past them
            loader.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        loader.commit()
        loader.conn.autocommit = True
        loader.execute("VACUUM ANALYZE")  # sets the visibility map, or index-only scans visit the heap
        loader.conn.autocommit = False
    elif loader.dialect in ("mysql", "mariadb"):
        loader.execute("ANALYZE TABLE users, ledger_entries, period_points, friendships")
        loader.cursor.fetchall()
    else:
        loader.execute("ANALYZE")
    loader.commit()
    print(f"  indexes built in {time.perf_counter() - started:.0f} s", flush=True)
    return year_points, entry_id


def add_friends(loader: Loader, user_id: int, count: int, users: int, rng: random.Random) -> list[int]:
    friends = [u for u in rng.sample(range(1, users + 1), count + 1) if u != user_id][:count]
    created = loader.value(datetime.now(UTC))
    loader.insert("friendships", ("user_id", "friend_id", "created_at"),
                  [row for f in friends for row in ((user_id, f, created), (f, user_id, created))])
    loader.commit()
    return friends


def credited_records(users: list[int], now: datetime) -> list[int]:
    """One travel record per earning, for the users in order; returns their ids."""
    records = Record.__table__
    factor_id = db.session.scalar(sa.select(EmissionFactor.id).order_by(EmissionFactor.id).limit(1))
    before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0)))
    day = clock.local_day(now)
    db.session.execute(records.insert(), [
        {"user_id": uid, "kind": "travel", "subtype": "bike", "status": "credited", "quantity": Decimal("1.000"),
         "unit": "km", "co2_g": Decimal("15.00"), "points": Decimal("1.5"), "factor_id": factor_id, "day": day,
         "created_at": now} for uid in users])
    ids = db.session.scalars(sa.select(records.c.id).where(records.c.id > before).order_by(records.c.id)).all()
    db.session.commit()
    return ids


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn, runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
        db.session.rollback()
    return median_ms(samples), result


def from_ledger(start: datetime, end: datetime):
    """The same answers summed from the ledger at read time."""
    params = {"start": start, "end": end}
    reasons = ", ".join(f"'{r}'" for r in EARNINGS)
    where = f"reason IN ({reasons}) AND created_at >= :start AND created_at < :end"
    moment = db.metadata.tables["ledger_entries"].c.created_at.type

    def bind(sql: str):
        return sa.text(sql).bindparams(sa.bindparam("start", type_=moment), sa.bindparam("end", type_=moment))

    def top100():
        return db.session.execute(bind(
            "SELECT t.user_id, u.nickname, u.avatar_url, t.total FROM (SELECT user_id, SUM(points) AS total "
            f"FROM ledger_entries WHERE {where} GROUP BY user_id) AS t JOIN users u ON u.id = t.user_id "
            "WHERE u.deleted_at IS NULL ORDER BY t.total DESC, t.user_id DESC LIMIT 100"), params).all()

    def friends_board(user_id: int):
        ids = [user_id, *db.session.scalars(sa.text("SELECT friend_id FROM friendships WHERE user_id = :me"),
                                            {"me": user_id})]
        return db.session.execute(bind(
            "SELECT u.id, u.nickname, u.avatar_url, COALESCE(SUM(l.points), 0) FROM users u "
            f"LEFT JOIN ledger_entries l ON l.user_id = u.id AND l.{where.replace(' AND ', ' AND l.')} "
            f"WHERE u.id IN ({', '.join(map(str, ids))}) AND u.deleted_at IS NULL "
            "GROUP BY u.id, u.nickname, u.avatar_url"), params).all()

    def rank(points_tenths: int):
        return 1 + db.session.scalar(bind(
            f"SELECT COUNT(*) FROM (SELECT user_id FROM ledger_entries WHERE {where} "
            "GROUP BY user_id HAVING SUM(points) > :mine) AS ahead"), {**params, "mine": points_tenths})

    return top100, friends_board, rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--friends", type=int, default=200)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--ledger-queries", type=int, default=3, help="runs of each (slow) ledger-side query")
    parser.add_argument("--credits", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    rng = random.Random(2026)
    workdir = tempfile.mkdtemp(prefix="leaderboard-")
    url = args.database_url or f"sqlite:///{os.path.join(workdir, 'bench.db')}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": workdir})
    with app.app_context():
        flask_migrate.upgrade()
        if db.session.scalar(sa.text("SELECT COUNT(*) FROM users")):
            sys.exit("the database is not empty: give the benchmark an empty one")
        db.session.rollback()
        now = clock.now()
        print(f"building {args.users:,} users and ~{args.entries:,} ledger entries on {db.engine.dialect.name}"
              f" ({url if args.database_url is None else 'given URL'})", flush=True)
        loader = Loader(db.engine)
        year_points, entry_count = build(loader, args, now)
        ranked = sorted(range(1, args.users + 1), key=lambda u: year_points[u])
        median_user = ranked[len(ranked) // 2]
        add_friends(loader, median_user, args.friends, args.users, rng)
        loader.close()
        started = time.perf_counter()
        leaderboard.rebuild_histogram()  # what the migration's backfill does for an existing deployment
        print(f"  histogram of period totals built in {time.perf_counter() - started:.0f} s", flush=True)
        period_rows = db.session.scalar(sa.text("SELECT COUNT(*) FROM period_points"))
        print(f"{entry_count:,} ledger entries, {period_rows:,} period_points rows; median user {median_user} "
              f"with {year_points[median_user] / 10} points this year and {args.friends} friends", flush=True)

        start = leaderboard.period_starts(now)["year"]
        mine = Decimal(year_points[median_user]).scaleb(-1)
        top_ms, top = timed(lambda: leaderboard.top("year", start, 100), args.queries)
        friends_ms, board = timed(lambda: leaderboard.friends_board(median_user, "year", start), args.queries)
        rank_ms, rank = timed(lambda: leaderboard.rank_in_period("year", start, mine), args.queries)

        year_from, year_to = clock.year_start(now), now + timedelta(days=1)
        ledger_top, ledger_friends, ledger_rank = from_ledger(year_from, year_to)
        runs = args.ledger_queries
        ltop_ms, ltop = timed(ledger_top, runs)
        lfriends_ms, lboard = timed(lambda: ledger_friends(median_user), max(runs, 10))
        lrank_ms, lrank = timed(lambda: ledger_rank(year_points[median_user]), runs)

        # Both ways give the same answers.
        assert [e.points for e in top] == [Decimal(t).scaleb(-1) for *_, t in ltop], "top 100 differ"
        assert rank == lrank, (rank, lrank)
        assert sorted(e.points for e in board.items) == sorted(Decimal(t).scaleb(-1) for *_, t in lboard)

        print(f"global top 100 (year):        median {top_ms:8.3f} ms   from the ledger {ltop_ms:9.1f} ms"
              f"   ratio {ltop_ms / top_ms:,.0f}x")
        print(f"friends board ({args.friends + 1} people):   median {friends_ms:8.3f} ms   from the ledger "
              f"{lfriends_ms:9.1f} ms   ratio {lfriends_ms / friends_ms:,.1f}x")
        print(f"my rank (median user, #{rank:,}): median {rank_ms:8.3f} ms   from the ledger {lrank_ms:9.1f} ms"
              f"   ratio {lrank_ms / rank_ms:,.0f}x")

        # Crediting runs against the app's own schema: the index the ledger-side queries needed goes.
        db.session.execute(sa.text(f"DROP INDEX {BASELINE_INDEX[0]}"
                                   + (" ON ledger_entries" if db.engine.dialect.name in ("mysql", "mariadb") else "")))
        db.session.commit()
        # Crediting runs on fresh pooled connections, as in a newly started worker: which pooled connection
        # the loop got, and what it had read before (the ledger-side scans above, which the app never
        # runs), moved the figure between 1,400 and 1,900 a second.
        db.session.remove()
        db.engine.dispose()
        # Crediting: users who earn about daily, so one earning in ten is the first of its week. 10,000
        # earnings span several WAL checkpoints; over 2,000 (one checkpoint, or none) the figure moved
        # between 1,300 and 1,800 a second from run to run.
        for label, reason in (("earnings, period totals maintained", LedgerReason.RECORD_CREDIT),
                              ("other credits, no period totals  ", "bench_credit")):
            pool = rng.sample(range(1, args.users + 1), max(args.credits // 10, 1))
            targets = [pool[i % len(pool)] for i in range(args.credits)]
            # An earning names the record it credits (made beforehand, untimed), as the app's do.
            earning = reason == LedgerReason.RECORD_CREDIT
            record_ids = credited_records(targets, now) if earning else [None] * len(targets)
            t0 = time.perf_counter()
            for uid, record_id in zip(targets, record_ids, strict=True):
                ledger.post_entry(uid, Decimal("1.5"), reason, record_id=record_id)
            elapsed = time.perf_counter() - t0
            print(f"post_entry, {label}: {args.credits / elapsed:,.0f} per second")

if __name__ == "__main__":
    main()
