"""A real local HTTP server that plays the WeChat server API for tests (jscode2session, stable_token)."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit


def refused_base_url() -> str:
    """A base URL on a local port where nothing listens, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeWechat:
    """Fake WeChat: single-use codes, WeChat's error bodies, and scripted failures for the next requests.

    Use as ``with FakeWechat() as fake:`` or ``fake = FakeWechat().start()`` ... ``fake.stop()``.
    """

    def __init__(self, appid: str = "wx-test-appid", secret: str = "test-app-secret",
                 content_type: str = "text/plain"):  # WeChat often labels its JSON text/plain
        self.appid, self.secret, self.content_type = appid, secret, content_type
        self.requests: list[dict[str, str]] = []  # query of each jscode2session call
        self.token_requests: list[dict] = []  # JSON body of each stable_token call
        self.messages: list[dict] = []  # JSON body of each subscribe message sent
        self._codes: dict[str, tuple[str, str | None]] = {}
        self._used: set[str] = set()
        self._script: deque[tuple[str, object]] = deque()
        self._access_token = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # -- lifecycle --
    def start(self) -> Self:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.handle_error = lambda request, address: None  # clients that hang up are expected
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any hanging handler
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test controls --
    def issue_code(self, openid: str, unionid: str | None = None) -> str:
        """A valid single-use code, as wx.login would give the mini program."""
        code = "code-" + secrets.token_urlsafe(12)
        with self._lock:
            self._codes[code] = (openid, unionid)
        return code

    def fail_next(self, errcode: int, errmsg: str = "scripted failure", times: int = 1) -> None:
        self._push("errcode", (errcode, errmsg), times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Answer nothing for `seconds`, then hang up (set it longer than the client's read timeout)."""
        self._push("hang", seconds, times)

    def drip_next(self, seconds_per_byte: float, times: int = 1) -> None:
        """Answer a byte at a time, each sooner than a read timeout would notice, never finishing soon."""
        self._push("drip", seconds_per_byte, times)

    def http_status_next(self, status: int, times: int = 1) -> None:
        self._push("status", status, times)

    def garbage_next(self, times: int = 1) -> None:
        self._push("garbage", b"<html>502 Bad Gateway</html>", times)

    def _push(self, kind: str, arg: object, times: int) -> None:
        with self._lock:
            self._script.extend([(kind, arg)] * times)

    def _next_scripted(self) -> tuple[str, object] | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    # -- WeChat behaviour --
    def jscode2session(self, query: dict[str, str]) -> dict:
        with self._lock:
            self.requests.append(query)
            if query.get("appid") != self.appid:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if query.get("grant_type") != "authorization_code":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            code = query.get("js_code", "")
            if code in self._used:
                return {"errcode": 40163, "errmsg": "code been used"}
            if code not in self._codes:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self._used.add(code)
            openid, unionid = self._codes.pop(code)
        body = {"openid": openid, "session_key": secrets.token_urlsafe(16)}
        if unionid:
            body["unionid"] = unionid
        return body

    def stable_token(self, body: dict) -> dict:
        with self._lock:
            self.token_requests.append(body)
            if body.get("appid") != self.appid or body.get("secret") != self.secret:
                return {"errcode": 40013, "errmsg": "invalid appid or secret"}
            if body.get("force_refresh"):
                self._access_token = secrets.token_urlsafe(24)
            # Repeated calls return the same token, as the real stable_token does.
            return {"access_token": self._access_token, "expires_in": 7200}


    def subscribe_send(self, query: dict[str, str], body: dict) -> dict:
        with self._lock:
            if query.get("access_token") != self._access_token:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
            if not body.get("touser") or not body.get("template_id"):
                return {"errcode": 47003, "errmsg": "argument invalid"}
            self.messages.append(body)
            return {"errcode": 0, "errmsg": "ok"}


def _handler_for(fake: FakeWechat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like WeChat, so client connection reuse is exercised

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if self._scripted(url.path, query):
                return
            if url.path == "/sns/jscode2session":
                self._send(200, fake.jscode2session(query))
            else:
                self._send(404, {"errcode": 404, "errmsg": "not found"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self._scripted(self.path, {}):
                return
            url = urlsplit(self.path)
            if url.path not in ("/cgi-bin/stable_token", "/cgi-bin/message/subscribe/send"):
                self._send(404, {"errcode": 404, "errmsg": "not found"})
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send(200, {"errcode": 47001, "errmsg": "data format error"})
                return
            if url.path == "/cgi-bin/stable_token":
                self._send(200, fake.stable_token(body))
            else:
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._send(200, fake.subscribe_send(query, body))

        def _scripted(self, path: str, query: dict[str, str]) -> bool:
            step = fake._next_scripted()
            if step is None:
                return False
            kind, arg = step
            if path == "/sns/jscode2session":
                with fake._lock:
                    fake.requests.append(query)
            if kind == "errcode":
                errcode, errmsg = arg
                self._send(200, {"errcode": errcode, "errmsg": errmsg})
            elif kind == "status":
                self._send(arg, {"errcode": -1, "errmsg": "system error"})
            elif kind == "garbage":
                self._send_raw(200, arg, "text/html")
            elif kind == "hang":
                fake._stopping.wait(arg)
                self.close_connection = True
            elif kind == "drip":
                data = json.dumps({"openid": "o-drip", "session_key": "k" * 24, "padding": " " * 200}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for byte in data:
                    if fake._stopping.wait(arg):
                        break
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up, as it should
                        break
                self.close_connection = True
            return True

        def _send(self, status: int, body: dict) -> None:
            self._send_raw(status, json.dumps(body).encode(), fake.content_type)

        def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler
