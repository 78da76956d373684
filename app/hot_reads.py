"""GET /api/v1/me and GET /api/v1/leaderboard answered in front of Flask's request machinery.

The mini program asks for these two every time it opens. Through Flask, the framework's request
context, URL matching, the app's request hooks and the response object cost more than the reads
themselves. Here a successful answer is made from the same services and the same JSON as the views inside an
app context only, with the request id and the access line of app/logs.py. Its reads check the bearer
token themselves (`me_json_for_token`, `board_json_for_token`): on a database server the token's own
query would be a second round trip. Anything else (no token or a bad one, a query the view would refuse, a database
error) goes on to Flask, which makes the contract's error answer: errors have one source. Reads are never
rate limited (app/ratelimit.py), so nothing is skipped there. A request hook added after create_app
(one this module does not know to stand in for) sends these reads through Flask too, so that it applies
to them. HOT_READS=0 sends every request to Flask.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from flask import Flask, g
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from app import logs
from app.api.auth import bearer_token_in
from app.errors import DomainError

log = logging.getLogger(__name__)

# (the bearer token[, the validated query]) -> (the signed-in user's id, the view's JSON); a bad token
# raises Unauthorized as users.authenticate does.
Answer = Callable[..., tuple[int, dict]]


class HotReads:
    """WSGI middleware: answers its GET endpoints itself when it can, else hands the request on."""

    def __init__(self, app: Flask, wsgi_app, answers: dict[str, tuple[type | None, Answer]]):
        """`answers`: endpoint -> (the query model its view validates, or None; the function making its JSON)."""
        self.app = app
        self.wsgi_app = wsgi_app
        # The paths the endpoints are registered at (no converters: these are fixed paths).
        self.routes = {rule.rule: answers[rule.endpoint] for rule in app.url_map.iter_rules()
                       if rule.endpoint in answers and "GET" in rule.methods}
        missing = set(answers) - {rule.endpoint for rule in app.url_map.iter_rules()}
        if missing:
            raise RuntimeError(f"hot reads for endpoints that do not exist: {sorted(missing)}")
        self.hooks_known = self._hook_count()

    def _hook_count(self) -> int:
        return (sum(map(len, self.app.before_request_funcs.values()))
                + sum(map(len, self.app.after_request_funcs.values())))

    def __call__(self, environ, start_response):
        route = self.routes.get(environ.get("PATH_INFO")) if environ.get("REQUEST_METHOD") == "GET" else None
        if route is None or self._hook_count() != self.hooks_known:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        query_model, answer = route
        with self.app.app_context():
            # Set first, so any line logged meanwhile carries it (and Flask reuses it if it answers instead).
            g.request_id = request_id = logs.request_id_for(environ)
            try:
                token = bearer_token_in(environ.get("HTTP_AUTHORIZATION", ""))
                if query_model is None:
                    user_id, body = answer(token)
                else:
                    query = _query(environ.get("QUERY_STRING", ""), query_model)
                    if query is None:
                        return self.wsgi_app(environ, start_response)
                    user_id, body = answer(token, query)
                data = self.app.json.dumps(body).encode()
            except (DomainError, DBAPIError):
                # 401, or the database away: Flask answers with the contract's envelope (503).
                return self.wsgi_app(environ, start_response)
            except Exception:
                log.exception("hot read failed; answering through Flask")
                return self.wsgi_app(environ, start_response)
            logs.log_access("GET", environ["PATH_INFO"], 200, started, user_id, None)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                  ("X-Request-ID", request_id)])
        return [data]


def _query(query_string: str, model: type):
    """The query as the view would validate it (each parameter once), or None: let Flask answer."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    values = dict(pairs)
    if len(values) != len(pairs):
        return None  # a repeated parameter: flask-openapi3's rules for those apply
    try:
        return model.model_validate(values)
    except ValidationError:
        return None
