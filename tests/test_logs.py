"""Structured logs as an operator's log collector reads them: JSON lines, each with its request's id.

The app runs in a child process (logging is per process) with LOG_FORMAT=json, and its stderr is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Sends three requests with known ids: a login, a read with the token, and one that crashes.
CLIENT = """
import json, sys
from app import create_app

app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": sys.argv[1], "UPLOAD_DIR": sys.argv[2],
                             "LOG_FORMAT": sys.argv[3]})

@app.get("/api/v1/_boom")
def boom():
    raise RuntimeError("it broke")

client = app.test_client()
login = client.post("/api/v1/auth/login", headers={"X-Request-ID": "req-login-0001"}, json={
    "code": "dev:logged", "privacy_version": app.config["PRIVACY_POLICY_VERSION"]}).get_json()
me = client.get("/api/v1/me", headers={"X-Request-ID": "req-me-00000001",
                                       "Authorization": "Bearer " + login["token"]})
client.get("/api/v1/_boom", headers={"X-Request-ID": "req-boom-000001"})
client.get("/healthz", headers={"X-Request-ID": "req-probe-00001"})
print(json.dumps({"token": login["token"], "user_id": me.get_json()["user"]["id"]}))
"""


def _run(app, log_format: str) -> tuple[dict, list[str]]:
    done = subprocess.run([sys.executable, "-c", CLIENT, app.config["SQLALCHEMY_DATABASE_URI"],
                           app.config["UPLOAD_DIR"], log_format], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout), done.stderr.splitlines()


def test_json_logs_are_one_object_per_line_each_with_its_request_id(app):
    client, lines = _run(app, "json")
    entries = [json.loads(line) for line in lines]  # every line, tracebacks included, is one JSON object
    assert all({"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries)

    def of(request_id):
        return [entry for entry in entries if entry["request_id"] == request_id]

    (me,) = of("req-me-00000001")  # its one line: the access line
    assert me["logger"] == "app.access" and me["level"] == "INFO"
    assert (me["method"], me["path"], me["status"], me["user_id"]) == ("GET", "/api/v1/me", 200, client["user_id"])
    assert isinstance(me["duration_ms"], float) and me["duration_ms"] >= 0
    assert [entry["status"] for entry in of("req-login-0001") if entry["logger"] == "app.access"] == [200]

    boom = of("req-boom-000001")
    assert len(boom) == 2  # the error with its traceback, then the access line
    assert "RuntimeError: it broke" in boom[0]["exception"] and boom[0]["level"] == "ERROR"
    assert boom[1]["status"] == 500 and "user_id" not in boom[1]

    assert not any(client["token"] in line for line in lines)  # tokens never reach the logs
    assert of("req-probe-00001") == []  # a passing health probe is not logged: load balancers ask often


def test_text_logs_carry_the_request_id_too(app):
    _, lines = _run(app, "text")
    (me,) = [line for line in lines if "request_id=req-me-00000001" in line]
    assert "app.access: GET /api/v1/me 200" in me
