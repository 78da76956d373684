"""Uploads per second through the whole POST /api/v1/photos endpoint, under gunicorn, on SQLite.

    .venv/bin/python bench/photo_upload.py [--uploads 300] [--clients 8] [--workers 2] [--threads 2]

Starts gunicorn on 127.0.0.1 with a fresh SQLite database, logs in one user per upload (daily caps
are per user), and posts distinct ~2 MB camera-sized JPEGs (3000x2000, q=90, made in this run)
from a pool of client threads. Prints uploads/s, p50/p99 latency and any non-201 answer.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def camera_like_jpeg(seed: int) -> bytes:
    """A distinct 3000x2000 picture with a photo's mix of smooth areas and fine texture, ~2 MB at q=90."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 18, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((3000, 2000), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.normal(0, 14, (2000, 3000, 1)).astype(np.int16)
    out = io.BytesIO()
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="photo-upload-")
    env = {**os.environ, "APP_ENV": "development", "WECHAT_DEV_LOGIN": "1",
           "DATABASE_URL": f"sqlite:///{workdir}/bench.db", "UPLOAD_DIR": f"{workdir}/uploads",
           "SECRET_KEY": "bench-secret-key-0123456789", "PHOTO_DAILY_CAP_SORTING": "1000",
           "RATELIMIT_ENABLED": "0"}  # hundreds of logins from one address: the API limits would refuse them
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    print(f"making {args.uploads} distinct JPEGs ...", flush=True)
    photos = [camera_like_jpeg(i) for i in range(args.uploads)]
    print(f"mean size {statistics.mean(map(len, photos)) / 1e6:.2f} MB", flush=True)
    server = subprocess.Popen([bin_dir / "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{args.port}",
                               "--workers", str(args.workers), "--threads", str(args.threads),
                               "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/api/v1/factors", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        tokens = [requests.post(f"{base}/api/v1/auth/login", timeout=10, json={
            "code": f"dev:bench{i}", "privacy_version": "2026-11-01"}).json()["token"] for i in range(args.uploads)]
        session = threading.local()
        latencies: list[float] = []
        failures: dict[int, int] = {}

        def post(i: int) -> None:
            http = getattr(session, "http", None) or requests.Session()
            session.http = http
            t0 = time.perf_counter()
            response = http.post(f"{base}/api/v1/photos", headers={"Authorization": f"Bearer {tokens[i]}"},
                                 data={"kind": "sorting"}, files={"file": ("p.jpg", photos[i], "image/jpeg")},
                                 timeout=60)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 201:
                failures[response.status_code] = failures.get(response.status_code, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post, range(args.uploads)))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    print(f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients, {os.cpu_count()} cores")
    print(f"uploads: {args.uploads} in {elapsed:.1f} s = {args.uploads / elapsed:.1f} uploads/s")
    print(f"latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms")
    print(f"non-201 answers: {failures or 'none'}")


if __name__ == "__main__":
    main()
