"""JSON answers built without a marshmallow dump, for the hottest read paths.

flask-smorest passes a :class:`flask.Response` through untouched, so a handler may keep
its ``@blp.response`` schema for the OpenAPI document and render the body itself. The
body must then be what the schema would have dumped: UUIDs as strings and times in ISO
8601 (marshmallow's ``DateTime`` default), which :func:`json_response` produces; the
schemathesis suite checks every answer against the schema.
"""

import json
import uuid
from datetime import date, datetime

from flask import Response


def _default(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_encode = json.JSONEncoder(default=_default, separators=(",", ":")).encode


def json_response(body, status=200, headers=None):
    """``body`` as ``application/json``, with ``status`` and ``headers``."""
    return Response(_encode(body), status=status, headers=headers, mimetype="application/json")
