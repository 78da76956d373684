"""A partner's client, written from the signing rules alone (it imports nothing from app/):
HMAC-SHA256 over method, path with query, timestamp, nonce and the body's SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import requests


class PartnerClient:
    def __init__(self, base_url: str, key_id: str, secret: str):
        self.base_url, self.key_id, self.secret = base_url, key_id, secret

    def signed_headers(self, method: str, path: str, body: bytes, *, timestamp: int | None = None,
                       nonce: str | None = None, secret: str | None = None) -> dict[str, str]:
        timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        to_sign = "\n".join(["PARTNER-HMAC-SHA256", method.upper(), path, timestamp_text, nonce,
                             hashlib.sha256(body).hexdigest()])
        signature = hmac.new((secret or self.secret).encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        return {"X-Partner-Key": self.key_id, "X-Partner-Timestamp": timestamp_text, "X-Partner-Nonce": nonce,
                "X-Partner-Signature": signature, "Content-Type": "application/json"}

    def request(self, method: str, path: str, payload: object = None, **signing) -> requests.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = self.signed_headers(method, path, body, **signing)
        return requests.request(method, self.base_url + path, data=body, headers=headers, timeout=30)

    def send_event(self, event: dict, **signing) -> requests.Response:
        return self.request("POST", "/partner/v1/events", event, **signing)
