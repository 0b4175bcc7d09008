"""The hub's own OAuth2 authorization server (embedded mode): client credentials only.

RFC 6749 section 4.4 (client credentials grant), access tokens as JWTs per RFC 9068,
signed with the instance's signing key and published at ``/oauth/jwks``.
"""

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import current_app
from joserfc.jwk import KeySet
from sqlalchemy import select

from gru.auth.models import Application
from gru.extensions import db


class HubClientCredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class HubTokenGenerator(JWTBearerTokenGenerator):
    def get_jwks(self):
        # A key set of one key makes joserfc name its kid in the JWS header.
        return KeySet([current_app.extensions["gru.keyring"].signing_key])

    def get_audiences(self, client, user, scope):
        return current_app.config["GRU_API_AUDIENCE"]

    def get_extra_claims(self, client, grant_type, user, scope):
        return {"azp": client.get_client_id()}


def _query_client(client_id):
    return db.session.scalar(select(Application).where(Application.client_id == client_id))


def _save_token(token, request):
    """JWT access tokens are self-contained: nothing to store (RFC 9068 section 1)."""


def init_authorization_server(app):
    """One authorization server per app (the test suite builds many apps in one process)."""
    server = AuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(HubClientCredentialsGrant)
    lifetime = int(app.config["GRU_ACCESS_TOKEN_LIFETIME"])
    server.register_token_generator(
        "default",
        HubTokenGenerator(
            issuer=app.config["GRU_BASE_URL"],
            expires_generator=lambda client, grant_type: lifetime,
        ),
    )
    app.extensions["gru.authorization_server"] = server
