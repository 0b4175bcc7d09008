"""JWKS of external issuers, cached and refetched when a token names an unknown key."""

import logging
import threading
import time

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gru.errors import Unauthorized

logger = logging.getLogger(__name__)

JWKS_TIMEOUT_SECONDS = 5
#: at most one refetch per issuer in this interval, however many unknown kids arrive
REFETCH_INTERVAL_SECONDS = 30
#: a JWKS is refreshed at least this often even when no kid is unknown
MAX_AGE_SECONDS = 3600


class RemoteKeySet:
    def __init__(self, jwks_uri=None, session=None, refetch_interval=REFETCH_INTERVAL_SECONDS,
                 discovery_url=None, issuer=None):
        if not (jwks_uri or discovery_url):
            raise ValueError("a trusted issuer needs a jwks_uri or a discovery_url")
        self.jwks_uri = jwks_uri
        self.discovery_url = discovery_url
        self.issuer = issuer
        self.refetch_interval = refetch_interval
        self._session = session or requests.Session()
        self._keys = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _discover(self):
        """OpenID Connect Discovery 1.0 section 4: the issuer's metadata names its JWKS."""
        response = self._session.get(self.discovery_url, timeout=JWKS_TIMEOUT_SECONDS)
        response.raise_for_status()
        metadata = response.json()
        if self.issuer and metadata.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        self.jwks_uri = metadata["jwks_uri"]

    def _fetch(self):
        try:
            if self.jwks_uri is None:
                self._discover()
            response = self._session.get(self.jwks_uri, timeout=JWKS_TIMEOUT_SECONDS)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, KeyError, JoseError) as error:
            logger.warning("cannot fetch JWKS from %s: %s", self.jwks_uri or self.discovery_url, error.__class__.__name__)
            if self._keys is None:
                raise Unauthorized("The keys of the token's issuer cannot be fetched.") from None
            return
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _knows(self, kid):
        return kid is None or any(key.kid == kid for key in self._keys.keys)

    def __call__(self, kid=None):
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys is None or age > MAX_AGE_SECONDS:
                self._fetch()
            elif not self._knows(kid) and age >= self.refetch_interval:
                self._fetch()
            if not self._knows(kid):
                raise Unauthorized("The access token is signed with a key its issuer does not publish.")
            return self._keys
