"""JSON that writes Decimal as an exact number (240.00, 24.0), never through float or as a string."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import simplejson
from flask.json.provider import JSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Built once: simplejson.dumps with any option builds a new encoder each call, a third of a small answer's cost.
# No circular check: answers are trees of fresh dicts and lists (a cycle would still fail, as RecursionError),
# and the check's bookkeeping was a quarter of encoding a 21-entry board.
_ENCODER = simplejson.JSONEncoder(use_decimal=True, default=_default, ensure_ascii=False, check_circular=False)


class DecimalJSONProvider(JSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs:
            return _ENCODER.encode(obj)
        kwargs.setdefault("ensure_ascii", False)
        return simplejson.dumps(obj, use_decimal=True, default=_default, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return simplejson.loads(s, **kwargs)
