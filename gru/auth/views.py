"""OAuth2 endpoints of the hub's own authorization server (embedded mode)."""

from flask import Blueprint, current_app, jsonify

from gru.auth.models import SCOPES
from gru.errors import ConfigurationError

blp = Blueprint("oauth", __name__)


def _server():
    server = current_app.extensions.get("gru.authorization_server")
    if server is None:
        raise ConfigurationError("The hub has no keys yet: run `gru init`.")
    return server


@blp.post("/oauth/token")
def issue_token():
    """RFC 6749 section 4.4.2: client credentials in, JWT access token out."""
    return _server().create_token_response()


@blp.get("/oauth/jwks")
def jwks():
    """RFC 7517: the public keys the hub's tokens and seals are signed with."""
    _server()
    return jsonify(current_app.extensions["gru.keyring"].public_jwks())


@blp.get("/.well-known/oauth-authorization-server")
def metadata():
    """RFC 8414 authorization server metadata."""
    _server()
    base = current_app.config["GRU_BASE_URL"]
    return jsonify(
        issuer=base,
        token_endpoint=f"{base}/oauth/token",
        jwks_uri=f"{base}/oauth/jwks",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        scopes_supported=list(SCOPES),
    )
