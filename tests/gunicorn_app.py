"""The testing app for a real gunicorn: `gunicorn -w 2 'tests.gunicorn_app:create()'`.

Settings come as JSON in TEST_APP_OVERRIDES (the database, limits, Redis ...); every response names the
worker process that served it in X-Worker-Pid, so tests can see that several workers took part. When
TEST_APP_BUILT_LOG names a file, every build of the app appends the building process's pid to it.
"""

from __future__ import annotations

import json
import os

from flask import Flask

from app import create_app


def create() -> Flask:
    app = create_app("testing", json.loads(os.environ["TEST_APP_OVERRIDES"]))
    if built_log := os.environ.get("TEST_APP_BUILT_LOG"):
        with open(built_log, "a") as log:
            log.write(f"{os.getpid()}\n")

    @app.after_request
    def _name_the_worker(response):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
