"""Bearer access tokens on the API: RFC 6750 presentation, RFC 9068 validation.

A token is accepted only when a trusted issuer signed it with one of its keys, with an
allowed algorithm, for the hub's audience, within its validity, and when it names a
registered, active application. Every refusal is a 401 whose detail says what was wrong
with the token, never the token itself; the log gets the same line.
"""

import hashlib
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import wraps

from flask import current_app, g, request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from gru.errors import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

#: RFC 9068 section 2.1 says at+jwt; several providers (LemonLDAP::NG 2.16) say JWT.
ACCEPTED_TOKEN_TYPES = {"at+jwt", "application/at+jwt", "jwt"}
#: Header parameters that would let a token choose the key it is checked with.
KEY_CHOOSING_HEADERS = ("jku", "x5u", "jwk", "x5c")
CLOCK_LEEWAY_SECONDS = 30
#: Claims only an OpenID Connect ID token carries: such a token proves a login to a
#: client, it does not grant access to an API (RFC 9068 section 4).
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose access tokens the API accepts.

    ``key_set(kid)`` returns its keys as a joserfc KeySet; a remote one refetches its
    JWKS when ``kid`` is unknown, so a key rotation is followed without a restart.
    """

    issuer: str
    audience: str
    key_set: object
    algorithms: tuple = ("RS256",)


@dataclass(frozen=True)
class Caller:
    """Who calls: an application (by code) or an agent acting under the desk contract."""

    type: str
    id: str
    client_id: str
    scopes: frozenset
    claims: dict = field(compare=False, repr=False)
    contract: object = field(default=None, compare=False, repr=False)
    on_behalf_of: str | None = None
    may_correct_below_level: bool = False


class TokenVerifier:
    """Checks access tokens against the trusted issuers, caching valid ones by hash."""

    def __init__(self, issuers, cache_size=4096):
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._cache = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token):
        """Return the claims of a valid token or raise :class:`Unauthorized`."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = self._cache.get(digest)
        if cached is not None and cached["exp"] > time.time():
            return cached
        claims = self._verify(token)
        self._cache[digest] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def _verify(self, token):
        try:
            compact = jws.extract_compact(token.encode("ascii"))
        except (JoseError, ValueError, UnicodeEncodeError):
            raise Unauthorized("The access token is not a signed JWT.") from None
        header = compact.protected
        if any(name in header for name in KEY_CHOOSING_HEADERS):
            raise Unauthorized("The access token names its own key (jku, x5u, jwk or x5c).")
        if "crit" in header:
            raise Unauthorized("The access token has critical header parameters the hub does not understand.")
        token_type = str(header.get("typ", "at+jwt")).lower()
        if token_type not in ACCEPTED_TOKEN_TYPES:
            raise Unauthorized(f"The token type {token_type!r} is not an access token.")
        try:
            unverified = json.loads(compact.payload)
        except ValueError:
            raise Unauthorized("The access token payload is not JSON.") from None
        if not isinstance(unverified, dict):
            raise Unauthorized("The access token payload is not a JSON object.")
        trusted = self._issuers.get(unverified.get("iss"))
        if trusted is None:
            raise Unauthorized("The access token comes from an issuer the hub does not trust.")
        if header.get("alg") not in trusted.algorithms:
            raise Unauthorized(f"The signing algorithm {header.get('alg')!r} is not allowed for this issuer.")
        try:
            verified = jwt.decode(token, trusted.key_set(header.get("kid")), algorithms=list(trusted.algorithms))
        except JoseError as error:
            raise Unauthorized(f"The access token signature is invalid ({error.error}).") from None
        claims = verified.claims
        registry = JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": trusted.issuer},
            aud={"essential": True, "value": trusted.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise Unauthorized(f"The access token is not valid here ({error.error}: {error.description}).") from None
        if not isinstance(claims.get("exp"), (int, float)):
            raise Unauthorized("The access token has no expiry time.")
        if any(name in claims for name in ID_TOKEN_CLAIMS):
            raise Unauthorized("This is an ID token, not an access token (OpenID Connect Core 1.0 section 2).")
        return claims


def _bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.www_authenticate = 'Bearer realm="gru"'
        raise Unauthorized("This endpoint needs a bearer access token (RFC 6750).")
    return token.strip()


def authenticate():
    """Resolve the calling application from the request's bearer token."""
    token = _bearer_token()
    verifier = current_app.extensions["gru.token_verifier"]
    try:
        claims = verifier.verify(token)
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("sub")
        application, contract = (
            current_app.extensions["gru.caller_cache"].get(client_id) if isinstance(client_id, str) else (None, None)
        )
        if application is None or not application.is_active:
            raise Unauthorized("The access token was issued to an application the hub does not know.")
    except Unauthorized as refusal:
        g.www_authenticate = f'Bearer realm="gru", error="invalid_token", error_description="{refusal.detail}"'
        logger.info("refused access token: %s", refusal.detail)
        raise
    granted = set(application.scope_list)
    if "scope" in claims:
        granted &= set(str(claims["scope"]).split())
    return Caller("application", application.code, application.client_id, frozenset(granted), claims, contract)


def require_scope(scope, personal_data=True):
    """Decorator for API views: a valid token carrying ``scope`` (RFC 6750 section 3.1).

    A view touching personal data also gets the call's purpose and case reference
    resolved against the caller's contract (``g.purpose``, ``g.case_ref``).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            caller = authenticate()
            if scope not in caller.scopes:
                g.www_authenticate = f'Bearer realm="gru", error="insufficient_scope", scope="{scope}"'
                raise Forbidden(f"The access token lacks the {scope} scope.")
            g.caller = caller
            if personal_data:
                from gru.rest.access import open_access

                open_access()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def build_token_verifier(app):
    """The hub itself, then every issuer of ``GRU_TRUSTED_ISSUERS``."""
    keyring = app.extensions["gru.keyring"]
    issuers = [
        TrustedIssuer(
            issuer=app.config["GRU_BASE_URL"],
            audience=app.config["GRU_API_AUDIENCE"],
            key_set=lambda kid: keyring.public_key_set(),
        )
    ]
    for entry in app.config["GRU_TRUSTED_ISSUERS"]:
        from gru.auth.jwks import RemoteKeySet

        issuers.append(
            TrustedIssuer(
                issuer=entry["issuer"],
                audience=entry.get("audience", app.config["GRU_API_AUDIENCE"]),
                key_set=RemoteKeySet(
                    entry.get("jwks_uri"),
                    discovery_url=entry.get("discovery_url"),
                    issuer=entry["issuer"],
                    refetch_interval=entry.get("jwks_refetch_seconds", 30),
                ),
                algorithms=tuple(entry.get("algorithms", ("RS256",))),
            )
        )
    from gru.auth.contracts import CallerCache

    app.extensions["gru.caller_cache"] = CallerCache(int(app.config["GRU_CONTRACT_CACHE_SECONDS"]))
    return TokenVerifier(issuers)
