"""Uploads per second through the whole POST /api/v1/photos endpoint, under gunicorn, on SQLite.

    .venv/bin/python bench/photo_upload.py [--uploads 300] [--clients 8] [--workers 2] [--threads 2] [--grain 8]

Starts gunicorn on 127.0.0.1 with a fresh SQLite database, logs in one user per upload (daily caps
are per user), and posts distinct camera-sized JPEGs (3000x2000, q=90, made in this run: ~2.0 MB with
the default grain, 2.6 MB with --grain 14) from a pool of client threads. The multipart bodies are
built before the clock starts, so the load generator, which shares the cores with the server, costs
as little as a client can. Prints uploads/s, p50/p99 latency, any non-201 answer, and the CPU time
per upload of the server and of the load generator.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
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


def camera_like_jpeg(seed: int, grain: float = 8) -> bytes:
    """A distinct 3000x2000 picture with a photo's mix of smooth areas and fine texture: q=90, ~2.0 MB
    with grain 8 (the noise's standard deviation in grey levels), 2.6 MB with grain 14."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 18, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((3000, 2000), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.normal(0, grain, (2000, 3000, 1)).astype(np.int16)
    out = io.BytesIO()
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def multipart(photo: bytes) -> tuple[bytes, str]:
    """What wx.uploadFile sends: the kind field and the file, as one multipart/form-data body."""
    boundary = "----bench-7d1f0c2a9e"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nsorting\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children that are still running (gunicorn's workers)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--grain", type=float, default=8, help="noise in grey levels: 8 gives ~2.0 MB, 14 2.6 MB")
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
    photos = [camera_like_jpeg(i, args.grain) for i in range(args.uploads)]
    print(f"mean size {statistics.mean(map(len, photos)) / 1e6:.2f} MB", flush=True)
    bodies = [multipart(photo) for photo in photos]
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
            body, content_type = bodies[i]
            response = http.post(f"{base}/api/v1/photos", data=body, timeout=60,
                                 headers={"Authorization": f"Bearer {tokens[i]}", "Content-Type": content_type})
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 201:
                failures[response.status_code] = failures.get(response.status_code, 0) + 1

        server_cpu, client_cpu, load = cpu_seconds(server.pid), time.process_time(), os.getloadavg()[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post, range(args.uploads)))
        elapsed = time.perf_counter() - started
        server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)  # the database and ~2 MB per upload
    latencies.sort()
    print(f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients, {os.cpu_count()} cores, "
          f"load average {load:.2f} before the uploads")
    print(f"uploads: {args.uploads} in {elapsed:.1f} s = {args.uploads / elapsed:.1f} uploads/s")
    print(f"latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms")
    print(f"non-201 answers: {failures or 'none'}")
    print(f"CPU per upload: server {server_cpu / args.uploads * 1000:.0f} ms, load generator "
          f"{client_cpu / args.uploads * 1000:.0f} ms; both together used {(server_cpu + client_cpu) / elapsed:.2f} "
          f"of {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
