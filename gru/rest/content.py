"""Request bodies of the API are JSON (RFC 9110 section 15.5.16: 415 otherwise)."""

from flask import request

from gru.errors import GruError

BODY_METHODS = ("POST", "PUT", "PATCH")


class UnsupportedMediaType(GruError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


def require_json_bodies(app, prefix="/api/"):
    @app.before_request
    def _require_json():
        if request.method not in BODY_METHODS or not request.path.startswith(prefix):
            return
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return
        mimetype = request.mimetype or ""
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            raise UnsupportedMediaType(f"Send the body as application/json, not {mimetype or 'untyped data'}.")
