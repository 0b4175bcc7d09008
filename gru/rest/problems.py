"""Errors as ``application/problem+json`` (RFC 9457).

Every error answered under ``/api`` and ``/oauth`` goes through :func:`problem_response`:
domain errors raised by services, HTTP errors raised by Flask or webargs, and anything
unexpected, which becomes a bare 500 whose details stay in the server log. No stack
trace, no SQL and no token ever reaches the caller.
"""

import http
import logging

import marshmallow as ma
from flask import g, jsonify, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from gru.errors import GruError

PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 9457 section 3.1.1: a URI identifying the problem type; a URN needs no web page.
PROBLEM_TYPE_BASE = "urn:gru:problem:"

logger = logging.getLogger(__name__)


class ProblemSchema(ma.Schema):
    """RFC 9457 section 3.1 members, plus ``errors`` for field-level validation details."""

    type = ma.fields.String(metadata={"description": "URI identifying the problem type"})
    title = ma.fields.String(metadata={"description": "Short summary of the problem type"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "Explanation of this occurrence"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    errors = ma.fields.Dict(metadata={"description": "Field-level errors: field name to messages"})
    existing_party_id = ma.fields.String(metadata={"description": "Party that caused a conflict"})
    existing_document_id = ma.fields.String(metadata={"description": "Document already holding this content"})
    attributes = ma.fields.Dict(metadata={"description": "A refused write: the outcome of each attribute"})


def _phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(status, *, code=None, title=None, detail=None, errors=None, headers=None, **extra):
    """Build the problem+json response (RFC 9457 section 3)."""
    body = {
        "type": PROBLEM_TYPE_BASE + (code or str(status)),
        "title": title or _phrase(status),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if errors:
        body["errors"] = errors
    body.update({key: value for key, value in extra.items() if value is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_CONTENT_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_webargs_messages(messages):
    """webargs nests messages by location ({"json": {"field": [...]}}); callers want fields."""
    flat = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, message in fields.items():
                flat[name] = message
        else:
            flat[location] = fields
    return flat


def handle_gru_error(error):
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = g.get("www_authenticate", 'Bearer realm="gru"')
    elif error.status == 403 and g.get("www_authenticate"):
        # RFC 6750 section 3.1: insufficient_scope is told in the challenge too.
        headers["WWW-Authenticate"] = g.www_authenticate
    extra = {key: value for key, value in error.extra.items() if key != "errors"}
    return problem_response(
        error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        errors=getattr(error, "errors", None),
        headers=headers,
        **extra,
    )


def handle_http_error(error):
    data = getattr(error, "data", None) or {}
    errors = None
    if "messages" in data:
        errors = _flatten_webargs_messages(data["messages"])
    detail = data.get("message")
    if detail is None and error.code == 422:
        detail = "The request contains invalid fields."
    elif detail is None and error.code != 500:
        detail = error.description
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(error.code, code=str(error.code), detail=detail, errors=errors, headers=headers)


def handle_unexpected_error(error):
    """Log the whole story server-side; tell the caller only that it failed."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    logger.exception("unexpected error on %s %s", request.method, request.path)
    return problem_response(500, detail="The hub could not complete the request.")


class ProblemApi(Api):
    """flask-smorest's Api documenting and answering every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return handle_http_error(error)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register_error_handlers(app):
    app.register_error_handler(GruError, handle_gru_error)
    app.register_error_handler(Exception, handle_unexpected_error)
