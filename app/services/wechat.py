"""WeChat server API client: login codes (jscode2session), the access token, subscribe messages."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import requests

from app.errors import InvalidCode, RateLimited, WechatRiskBlocked, WechatUnavailable

log = logging.getLogger(__name__)

INVALID_CODE_ERRCODES = {40029, 40163}  # invalid (or expired) code; code already used
RATE_LIMITED_ERRCODE = 45011  # 100 calls per user per minute
RISK_BLOCKED_ERRCODE = 40226  # user blocked by WeChat as high-risk
TOKEN_ERRCODES = {40001, 40014, 42001}  # access token invalid, malformed or expired


MAX_BODY_BYTES = 1 << 20  # WeChat's answers are a few hundred bytes


def _read_before(response: requests.Response, deadline: float) -> bytes | None:
    """The body as it arrives (read1: whatever the socket has), or None once the deadline passes."""
    content = bytearray()
    while chunk := response.raw.read1(65536, decode_content=True):
        content += chunk
        if len(content) > MAX_BODY_BYTES:
            raise WechatUnavailable(details={"cause": "bad_response"})
        if time.monotonic() > deadline:
            return None
    return bytes(content)


@dataclass(frozen=True)
class WechatSession:
    openid: str
    session_key: str  # never leaves the server
    unionid: str | None

    def __repr__(self) -> str:  # keep the session_key out of logs and tracebacks
        return f"WechatSession(openid={self.openid!r}, unionid={self.unionid!r})"


class WechatClient:
    """One client per app: it keeps a requests.Session so connections to WeChat are reused."""

    def __init__(self, base_url: str, appid: str | None, secret: str | None,
                 timeout: tuple[float, float] = (3.05, 5), session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self._secret = secret
        # (connect, read) seconds: a WeChat outage must fail fast instead of holding a worker.
        self.timeout = timeout
        self.session = session or requests.Session()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WechatClient(base_url={self.base_url!r}, appid={self.appid!r})"

    def code_to_session(self, code: str) -> WechatSession:
        """登录凭证校验: trade a single-use wx.login code for the user's openid and session_key."""
        if not self.appid or not self._secret:
            log.error("WeChat login is not configured: set WECHAT_APPID and WECHAT_SECRET")
            raise WechatUnavailable("微信登录未配置", details={"cause": "not_configured"})
        if not isinstance(code, str) or not code.strip():
            raise InvalidCode()
        body = self._get("/sns/jscode2session", {
            "appid": self.appid, "secret": self._secret,
            "js_code": code, "grant_type": "authorization_code",
        })
        errcode = body.get("errcode") or 0
        if errcode:
            self._raise_for_errcode(errcode, body.get("errmsg"))
        openid, session_key = body.get("openid"), body.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str) or not session_key:
            log.error("jscode2session answered without openid/session_key")
            raise WechatUnavailable(details={"cause": "bad_response"})
        return WechatSession(openid=openid, session_key=session_key, unionid=body.get("unionid") or None)

    def access_token(self, force_refresh: bool = False) -> str:
        """The app's access token from stable_token, cached until a few minutes before it expires.

        stable_token returns the same token to every caller, so workers do not invalidate each other.
        """
        with self._token_lock:
            if not force_refresh and self._token and time.monotonic() < self._token_expires:
                return self._token
            body = self._post("/cgi-bin/stable_token", None, {
                "grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
                "force_refresh": force_refresh})
            token = body.get("access_token")
            if body.get("errcode") or not isinstance(token, str):
                log.error("stable_token refused: errcode=%s", body.get("errcode"))
                raise WechatUnavailable(details={"wechat_errcode": body.get("errcode")})
            self._token = token
            self._token_expires = time.monotonic() + max(int(body.get("expires_in", 7200)) - 300, 60)
            return token

    def send_subscribe_message(self, openid: str, template_id: str, data: dict, page: str | None = None) -> None:
        """subscribeMessage.send: one message per accepted subscription (43101 when none is left)."""
        if not self.appid or not self._secret:
            raise WechatUnavailable("微信未配置", details={"cause": "not_configured"})
        message = {"touser": openid, "template_id": template_id,
                   "data": {key: {"value": value} for key, value in data.items()}}
        if page:
            message["page"] = page
        for attempt in range(2):
            token = self.access_token(force_refresh=attempt > 0)
            body = self._post("/cgi-bin/message/subscribe/send", {"access_token": token}, message)
            errcode = body.get("errcode") or 0
            if errcode in TOKEN_ERRCODES and attempt == 0:
                continue  # the token went stale early: refresh once and retry
            if errcode:
                log.warning("subscribe message refused: errcode=%s errmsg=%.200s", errcode, body.get("errmsg"))
                raise WechatUnavailable(details={"wechat_errcode": errcode})
            return

    def _post(self, path: str, params: dict[str, str] | None, payload: dict) -> dict:
        return self._call("POST", path, params=params, json=payload)

    def _get(self, path: str, params: dict[str, str]) -> dict:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, **kwargs: object) -> dict:
        """One WeChat call and its JSON body; any transport failure is WechatUnavailable.

        The whole call has a deadline (connect + read timeout): requests times each read on its own,
        so a WeChat answering a byte at a time could otherwise hold the worker for ever. requests'
        exception messages include the full URL, secret included, so they are never logged or chained
        (``from None``): only the failure's kind is reported.
        """
        deadline = time.monotonic() + sum(self.timeout)
        try:
            with self.session.request(method, self.base_url + path, timeout=self.timeout, stream=True,
                                      **kwargs) as response:
                content = _read_before(response, deadline)
        except requests.Timeout:
            cause = "timeout"
        except requests.RequestException as exc:
            cause = "connection_error" if isinstance(exc, requests.ConnectionError) else "request_error"
        else:
            if content is not None:
                return self._json_body(path, response.status_code, content)
            cause = "timeout"
        log.error("WeChat %s failed: %s", path, cause)
        raise WechatUnavailable(details={"cause": cause}) from None

    @staticmethod
    def _json_body(path: str, status_code: int, content: bytes) -> dict:
        if status_code != 200:
            log.error("WeChat %s answered HTTP %s", path, status_code)
            raise WechatUnavailable(details={"cause": "http_status", "http_status": status_code})
        try:
            # WeChat sometimes labels JSON as text/plain, so parse whatever the content type says.
            body = json.loads(content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.error("WeChat %s answered a body that is not a JSON object", path)
            raise WechatUnavailable(details={"cause": "bad_response"}) from None
        return body

    @staticmethod
    def _raise_for_errcode(errcode: object, errmsg: object) -> None:
        log.warning("jscode2session refused: errcode=%s errmsg=%.200s", errcode, errmsg)
        details = {"wechat_errcode": errcode}
        if errcode in INVALID_CODE_ERRCODES:
            raise InvalidCode(details=details)
        if errcode == RATE_LIMITED_ERRCODE:
            raise RateLimited(details=details)
        if errcode == RISK_BLOCKED_ERRCODE:
            raise WechatRiskBlocked(details=details)
        # -1 (system busy), 40013 (bad appid), 40125 (bad secret) and anything unknown: our side or theirs,
        # never something the user can fix.
        raise WechatUnavailable(details=details)
