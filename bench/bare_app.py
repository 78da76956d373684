"""The yardsticks bench/load.py measures the app against, served by the same gunicorn settings.

    gunicorn bare_app:app       a bare Flask endpoint returning a constant
    gunicorn bare_app:raw_app   the same answer from a raw WSGI callable (no framework at all)
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def constant():
    return {"status": "ok"}


BODY = b'{"status":"ok"}\n'


def raw_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
