"""Helpers for races against the live server: release many requests at once, log users in over HTTP."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

RACERS = 20


def race(count: int, action):
    """Run `action(i)` in `count` threads released together."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def live_login(base: str, app, name: str) -> dict[str, str]:
    """Development login over real HTTP; returns the bearer header."""
    response = requests.post(f"{base}/api/v1/auth/login", timeout=10, json={
        "code": f"dev:{name}", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    return {"Authorization": f"Bearer {response.json()['token']}"}
