"""The Idempotency-Key header on creating POSTs: a retry gets the first answer and credits nothing."""

from __future__ import annotations

import hashlib
from functools import wraps

from flask import Response, g, make_response, request

from app.api.errors import domain_error_response
from app.database import write_transaction
from app.errors import DomainError
from app.services import idempotency


def _request_hash() -> str:
    """What makes two requests "the same": method, path and body; for multipart, its fields and file
    contents, because each retry of wx.uploadFile picks a new multipart boundary."""
    parts = [request.method.encode(), request.full_path.encode()]
    if request.mimetype == "multipart/form-data":
        parts += [f"{k}={v}".encode() for k, v in sorted(request.form.items(multi=True))]
        for name, upload in sorted(request.files.items(multi=True)):
            parts += [name.encode(), hashlib.sha256(upload.read()).digest()]
            upload.seek(0)
    else:
        parts.append(request.get_data())
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def idempotent(view):
    """Run the view and store its final answer in one transaction, so that they commit together:
    a worker killed half-way leaves neither a credit without its stored answer nor the reverse."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        user_id = g.current_user.id
        key = idempotency.validate_key(key)
        stored = idempotency.claim(user_id, key, _request_hash())
        if stored is not None:
            response = Response(stored.body, status=stored.status, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            with write_transaction():
                response = make_response(view(*args, **kwargs))
                if response.status_code < 500:
                    idempotency.store_response(user_id, key, response.status_code,
                                               response.get_data(as_text=True))
        except DomainError as exc:
            response = make_response(domain_error_response(exc))
            if exc.status < 500:
                idempotency.store_response(user_id, key, response.status_code,
                                           response.get_data(as_text=True))
            else:
                idempotency.release(user_id, key)
            return response
        except Exception:
            idempotency.release(user_id, key)
            raise
        if response.status_code >= 500:
            idempotency.release(user_id, key)
        return response

    wrapper.idempotent = True  # the OpenAPI document lists the header and its refusals
    return wrapper
