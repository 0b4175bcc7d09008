"""Access tokens of connector instances: OAuth2 client credentials with authlib.

Each instance obtains its bearer token from its application's identity provider with the
client credentials grant (RFC 6749 section 4.4), authenticating with
``client_secret_basic`` or ``client_secret_post`` (RFC 6749 section 2.3.1) or
``private_key_jwt`` (RFC 7523 section 2.2, OpenID Connect Core section 9: a JWT signed
with the client's private key, its ``kid`` in the header so the provider picks the
registered public key). The token is cached until :data:`EXPIRY_MARGIN` seconds before
it expires; :meth:`TokenSource.token` with ``renew`` fetches a new one (after a 401).

Neither the secret, the private key nor a token ever appears in an error message.
"""

import json
import threading
import time

import marshmallow as ma
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from marshmallow import fields, validate

from gru.connectors.base import ConnectorError, Outcome, host_of

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: seconds before expiry at which a cached token is renewed
EXPIRY_MARGIN = 30
#: lifetime assumed when the provider does not say (``expires_in`` is RECOMMENDED only)
DEFAULT_LIFETIME = 300
TOKEN_SECRET_FIELDS = ("client_secret", "private_key")


def _check_private_key(value):
    from joserfc.jwk import RSAKey

    try:
        key = RSAKey.import_key(json.loads(value) if value.lstrip().startswith("{") else value)
        if not key.is_private:
            raise ValueError("public key")
    except Exception:  # noqa: BLE001 - any parse failure is the same answer
        raise ma.ValidationError("Not an RSA private key (PEM or JWK JSON).") from None


class TokenConfigSchema(ma.Schema):
    """The token part of a connector's configuration (secrets: client_secret, private_key)."""

    token_url = fields.Url(require_tld=False, schemes={"http", "https"}, load_default=None,
                           metadata={"description": "token endpoint of the application's identity provider"})
    client_id = fields.String(load_default=None, validate=validate.Length(1, 256))
    client_secret = fields.String(load_default=None, validate=validate.Length(1, 1024))
    auth_method = fields.String(load_default="client_secret_basic", validate=validate.OneOf(AUTH_METHODS))
    private_key = fields.String(load_default=None, validate=_check_private_key,
                                metadata={"description": "private_key_jwt: PEM or JWK JSON"})
    kid = fields.String(load_default=None, validate=validate.Length(1, 256))
    scope = fields.String(load_default=None)
    #: RFC 8707 resource indicator, for providers that want one
    resource = fields.String(load_default=None)

    @ma.validates_schema
    def _complete(self, data, **kwargs):
        if not data.get("token_url"):
            return
        errors = {}
        if not data.get("client_id"):
            errors["client_id"] = ["Required with token_url."]
        if data.get("auth_method") == "private_key_jwt":
            if not data.get("private_key"):
                errors["private_key"] = ["Required with private_key_jwt."]
        elif not data.get("client_secret"):
            errors["client_secret"] = ["Required with client_secret_basic or client_secret_post."]
        if errors:
            raise ma.ValidationError(errors)


class TokenSource:
    """A cached client-credentials token for one instance; thread-safe."""

    def __init__(self, config, timeout=10.0, clock=time.time):
        self.token_url = config["token_url"]
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token = None
        self._expires_at = 0.0
        method = config.get("auth_method") or "client_secret_basic"
        if method == "private_key_jwt":
            key = config["private_key"]
            key = json.loads(key) if key.lstrip().startswith("{") else key
            headers = {"kid": config["kid"]} if config.get("kid") else None
            self._session = OAuth2Session(config["client_id"], key, token_endpoint_auth_method="private_key_jwt",
                                          scope=config.get("scope"))
            self._session.register_client_auth_method(PrivateKeyJWT(self.token_url, headers=headers, alg="RS256"))
        else:
            self._session = OAuth2Session(config["client_id"], config["client_secret"],
                                          token_endpoint_auth_method=method, scope=config.get("scope"))
        self._extra = {"resource": config["resource"]} if config.get("resource") else {}
        #: how many tokens were fetched (tests and the status view)
        self.fetch_count = 0

    def token(self, renew=False):
        with self._lock:
            if renew or self._token is None or self._clock() >= self._expires_at - EXPIRY_MARGIN:
                self._fetch()
            return self._token

    def _fetch(self):
        where = host_of(self.token_url)
        try:
            token = self._session.fetch_token(self.token_url, grant_type="client_credentials",
                                              timeout=self.timeout, **self._extra)
        except requests.Timeout:
            raise ConnectorError(Outcome.retry(f"token endpoint {where} timed out")) from None
        except requests.RequestException as error:
            raise ConnectorError(Outcome.retry(f"token endpoint {where} failed: {error.__class__.__name__}")) from None
        except Exception as error:  # noqa: BLE001 - authlib's OAuthError and friends
            # RFC 6749 section 5.2: ``error`` is an ASCII code; the description may echo
            # input, so only the code is kept.
            code = getattr(error, "error", None) or error.__class__.__name__
            status = getattr(getattr(error, "response", None), "status_code", None)
            outcome = Outcome.retry if status is not None and (status >= 500 or status == 429) else Outcome.failed
            raise ConnectorError(outcome(f"token endpoint {where} refused the client: {code}")) from None
        access_token = token.get("access_token")
        if not access_token:
            raise ConnectorError(Outcome.failed(f"token endpoint {where} returned no access token"))
        self.fetch_count += 1
        self._token = access_token
        self._expires_at = self._clock() + float(token.get("expires_in") or DEFAULT_LIFETIME)


def token_source_for(config, timeout):
    """A :class:`TokenSource` when the configuration names a token endpoint, else None."""
    return TokenSource(config, timeout=timeout) if config.get("token_url") else None
