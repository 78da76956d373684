"""Duplicate-check lookup over 1,000,000 stored perceptual hashes on SQLite: band index vs full scan.

    .venv/bin/python bench/photo_lookup.py [--hashes 1000000] [--queries 40]

Prints the median time of one duplicate check (the multi-index lookup the upload runs, with the
query hashes a real photo produces: 8 orientations of the whole and trimmed image, plus windows),
of one single-hash lookup, and of a full scan of the same table computing every Hamming distance,
with their ratios. Everything is measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate

from app import create_app
from app.extensions import db
from app.services import photo_fingerprint as fp
from app.services.photos import nearest_photos


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _near(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def build(path: str, count: int, rng: random.Random) -> list[int]:
    """Bulk-load `count` hashes (one photo each) straight into the migrated schema."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    hashes = [rng.getrandbits(64) for _ in range(count)]
    with conn:
        conn.execute("INSERT INTO users (id, privacy_version, consented_at, created_at) "
                     "VALUES (1, 'bench', '2026-01-01', '2026-01-01')")
        conn.executemany(
            "INSERT INTO photos (id, record_id, user_id, storage_key, content_type, width, height, byte_size,"
            " sha256, signature, created_at) VALUES (?, ?, 1, NULL, 'image/jpeg', 1, 1, 1, ?, '', '2026-01-01')",
            ((i + 1, i + 1, f"{i:064x}") for i in range(count)))
        conn.executemany(
            "INSERT INTO photo_hashes (photo_id, hash, band0, band1, band2) VALUES (?, ?, ?, ?, ?)",
            ((i + 1, _signed(h), *fp.bands(h)) for i, h in enumerate(hashes)))
    conn.execute("ANALYZE")
    conn.close()
    return hashes


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(2026)
    workdir = tempfile.mkdtemp(prefix="photo-lookup-")
    path = os.path.join(workdir, "bench.db")
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "UPLOAD_DIR": workdir})
    with app.app_context():
        flask_migrate.upgrade()
    started = time.perf_counter()
    stored = build(path, args.hashes, rng)
    print(f"loaded {args.hashes:,} hashes in {time.perf_counter() - started:.1f} s ({path})")

    load_before = os.getloadavg()[0]
    queries_per_photo = 13  # a real photo: 8 orientations of the whole image + 5 windows (21 with bars trimmed)
    lookups, orientations, singles, scans, found = [], [], [], [], 0
    with app.app_context():
        for i in range(args.queries):
            planted = stored[rng.randrange(len(stored))]
            query = [_near(planted, 6, rng)] + [rng.getrandbits(64) for _ in range(queries_per_photo - 1)]
            t0 = time.perf_counter()
            candidates = nearest_photos(query)
            lookups.append(time.perf_counter() - t0)
            found += any(fp.hamming(planted, h) == 0 for c in candidates for h in c.hashes)
            t0 = time.perf_counter()
            nearest_photos(query[:8])
            orientations.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            nearest_photos(query[:1])
            singles.append(time.perf_counter() - t0)
            db.session.rollback()
            if i < 5:  # a scan takes long; five are enough for its median
                t0 = time.perf_counter()
                conn = db.session.connection().connection.driver_connection
                q = query[0]
                near = [pid for pid, h in conn.execute("SELECT photo_id, hash FROM photo_hashes")
                        if ((h & 0xFFFFFFFFFFFFFFFF) ^ q).bit_count() <= fp.CANDIDATE_DISTANCE]
                scans.append(time.perf_counter() - t0)
                assert near, "the scan must find the planted near copy"
                db.session.rollback()

    shutil.rmtree(workdir, ignore_errors=True)
    lookup, single, scan = median_ms(lookups), median_ms(singles), median_ms(scans)
    eight = median_ms(orientations)
    print(f"planted near copies found: {found}/{args.queries}")
    print(f"duplicate check, {queries_per_photo} query hashes (8 orientations + windows): median {lookup:.2f} ms")
    print(f"the 8 orientations of the whole photo:             median {eight:.2f} ms")
    print(f"lookup of one hash:                                median {single:.2f} ms")
    print(f"full scan of the table for one hash:               median {scan:.1f} ms")
    print(f"ratio scan / one-hash lookup: {scan / single:.0f}x   "
          f"ratio scan / full duplicate check: {scan / lookup:.0f}x")
    print(f"load average {load_before:.2f} before the queries, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
