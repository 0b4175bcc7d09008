"""Request bodies of the API are JSON (RFC 9110 section 15.5.16: 415 otherwise)."""

from flask import request

from gru.errors import GruError

BODY_METHODS = ("POST", "PUT", "PATCH")


class UnsupportedMediaType(GruError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


#: endpoints whose body is the raw content of a file (document uploads), not JSON
RAW_BODY_ENDPOINTS = "gru.raw_body_endpoints"


def accept_raw_body(app, endpoint):
    """Let ``endpoint`` take a non-JSON body (it checks the body's type itself)."""
    app.extensions.setdefault(RAW_BODY_ENDPOINTS, set()).add(endpoint)


def require_json_bodies(app, prefix="/api/"):
    @app.before_request
    def _require_json():
        if request.method not in BODY_METHODS or not request.path.startswith(prefix):
            return
        if request.endpoint in app.extensions.get(RAW_BODY_ENDPOINTS, ()):
            return
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return
        mimetype = request.mimetype or ""
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            raise UnsupportedMediaType(f"Send the body as application/json, not {mimetype or 'untyped data'}.")
