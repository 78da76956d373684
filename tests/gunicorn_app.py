"""The testing app for a real gunicorn: `gunicorn -w 2 'tests.gunicorn_app:create()'`.

Settings come as JSON in TEST_APP_OVERRIDES (the database, limits, Redis ...); every response names the
worker process that served it in X-Worker-Pid, so tests can see that several workers took part.
"""

from __future__ import annotations

import json
import os

from flask import Flask

from app import create_app


def create() -> Flask:
    app = create_app("testing", json.loads(os.environ["TEST_APP_OVERRIDES"]))

    @app.after_request
    def _name_the_worker(response):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
