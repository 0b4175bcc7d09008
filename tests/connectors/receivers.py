"""Real HTTP receivers and a test identity provider on 127.0.0.1, in threads.

:class:`Receiver` is a business application's webhook endpoint: it records every request,
verifies bearer tokens against a :class:`TokenProvider`, and answers what the test tells
it (``behaviour``: a status, a delay, "apply then fail"). It drops duplicates by
``webhook-id`` as a careful receiver does, so a test can count what was *applied*.

:class:`TokenProvider` is the application's identity provider: an OAuth2 token endpoint
(RFC 6749 section 4.4, client credentials) authenticating clients with
``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt`` (RFC 7523 section 3:
the assertion's signature is checked with the client's registered public key, chosen by
the ``kid`` of its header; ``iss`` and ``sub`` are the client id, ``aud`` the token
endpoint, ``exp`` in the future). Its tokens are opaque and can all be revoked at once
(``rotate``), as a provider replacing its signing key does.
"""

import base64
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class _Server:
    def __init__(self):
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def _wsgi(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


class TokenProvider(_Server):
    def __init__(self, lifetime=3600):
        self.lifetime = lifetime
        self.clients = {}  # client id -> {"secret": ..., "jwks": KeySet}
        self.valid = set()
        self.requests = []
        self.lock = threading.Lock()
        super().__init__()
        self.token_url = self.url + "/token"

    def register(self, client_id, secret=None, public_jwk=None):
        self.clients[client_id] = {"secret": secret, "jwks": KeySet.import_key_set({"keys": [public_jwk]})
                                   if public_jwk else None}

    def rotate(self):
        """Forget every token issued: the next call with one answers 401."""
        with self.lock:
            self.valid.clear()

    def is_valid(self, header):
        return bool(header) and header.startswith("Bearer ") and header[7:] in self.valid

    def _client(self, request):
        form = request.form
        if form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            assertion = form.get("client_assertion", "")
            header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
            unverified = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=" * 4))
            client = self.clients.get(unverified.get("iss"))
            if not client or not client["jwks"] or not header.get("kid"):
                return None, "private_key_jwt"
            try:
                token = jwt.decode(assertion, client["jwks"], algorithms=["RS256"])
            except Exception:  # noqa: BLE001
                return None, "private_key_jwt"
            claims = token.claims
            if claims.get("sub") != claims.get("iss") or claims.get("aud") != self.token_url \
                    or claims.get("exp", 0) < time.time():
                return None, "private_key_jwt"
            return claims["iss"], "private_key_jwt"
        if request.authorization and request.authorization.type == "basic":
            client_id = urllib.parse.unquote(request.authorization.username)
            secret = urllib.parse.unquote(request.authorization.password)
            method = "client_secret_basic"
        else:
            client_id, secret, method = form.get("client_id"), form.get("client_secret"), "client_secret_post"
        client = self.clients.get(client_id)
        if client and client["secret"] and secrets.compare_digest(client["secret"], secret or ""):
            return client_id, method
        return None, method

    def handle(self, request):
        if request.path != "/token" or request.method != "POST":
            return Response(status=404)
        client_id, method = self._client(request)
        self.requests.append({"client_id": client_id, "method": method, "form": dict(request.form)})
        if client_id is None or request.form.get("grant_type") != "client_credentials":
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.valid.add(token)
        return Response(json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}),
                        content_type="application/json")


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    headers: dict = field(default_factory=dict)
    #: apply the event, then answer this status anyway (a receiver that crashed after
    #: applying): the hub retries, and the receiver must drop the duplicate
    apply_then_status: int | None = None


class Receiver(_Server):
    def __init__(self, tokens=None):
        self.tokens = tokens
        self.behaviour = Behaviour()
        self.requests = []  # every request: headers and body
        self.applied = []  # CloudEvents applied, duplicates dropped
        self._seen = set()
        self.lock = threading.Lock()
        super().__init__()

    def handle(self, request):
        behaviour = self.behaviour
        body = request.get_data()
        with self.lock:
            self.requests.append({"headers": dict(request.headers), "body": body, "at": time.monotonic()})
        if behaviour.delay:
            time.sleep(behaviour.delay)
        if self.tokens is not None and not self.tokens.is_valid(request.headers.get("Authorization")):
            return Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if behaviour.status >= 300 and behaviour.apply_then_status is None:
            return Response(status=behaviour.status, headers=behaviour.headers)
        with self.lock:
            message_id = request.headers.get("webhook-id")
            if message_id not in self._seen:
                self._seen.add(message_id)
                self.applied.append(json.loads(body))
        return Response(status=behaviour.apply_then_status or behaviour.status, headers=behaviour.headers)
