"""Tokens of a trusted external issuer: a real LemonLDAP::NG, and a JWKS that rotates.

These tests build their own hub (SQLite file) configured with the external issuer; the
trust logic they exercise does not depend on the database backend, which the rest of
the suite covers on both SQLite and PostgreSQL.
"""

import base64
import json
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from gru.extensions import db
from tests.api_helpers import assert_problem
from tests.conftest import build_app, make_instance
from tests.factories.auth import make_application
from tests.support.llng import LemonLDAP, llng_available

AUDIENCE = "gru-api"
FAMILY_ONLY = {"purposes": ["civil_status"], "attributes": {"family_name": ["read"]}}


def _hub_with_issuer(tmp_path_factory, issuer):
    instance = make_instance(tmp_path_factory)
    return build_app(instance, f"sqlite:///{instance}/gru.sqlite3", GRU_TRUSTED_ISSUERS=[issuer])


def _seed(app, client_id, contract):
    """A person, and the application known by the external client id."""
    from gru.identity.services.context import Actor, make_provenance
    from gru.identity.services.parties import create_party

    with app.app_context():
        make_application("etat-civil", client_id=client_id, contract=contract)
        party, _ = create_party(
            "person",
            {"family_name": "Hnawia", "given_names": "Marc", "email": "marc@example.nc"},
            make_provenance("desk", "declared"),
            Actor("agent", "test"),
        )
        db.session.commit()
        return str(party.id)


# -- LemonLDAP::NG -------------------------------------------------------------------------

AVAILABLE, WHY_NOT = llng_available()
needs_llng = pytest.mark.skipif(not AVAILABLE, reason=WHY_NOT)


@pytest.fixture(scope="module")
def llng(tmp_path_factory):
    provider = LemonLDAP(tmp_path_factory.mktemp("llng"), additional_audiences=(AUDIENCE,),
                         extra_clients={"gru-stranger": "stranger-secret-123"})
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def llng_hub(llng, tmp_path_factory):
    app = _hub_with_issuer(
        tmp_path_factory, {"issuer": llng.issuer, "discovery_url": llng.discovery_url, "audience": AUDIENCE}
    )
    party_id = _seed(app, llng.cc_client_id, FAMILY_ONLY)
    return app, party_id


@needs_llng
def test_a_lemonldap_token_reads_exactly_its_contract(llng, llng_hub):
    app, party_id = llng_hub
    token = llng.client_credentials_token(scope="openid parties:read")
    assert jwt.decode(token, KeySet.import_key_set(requests.get(llng.jwks_uri, timeout=5).json())).header["typ"] == "JWT"

    response = app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["attributes"] == {"family_name": "Hnawia"}


@needs_llng
def test_a_tampered_lemonldap_token_is_401(llng, llng_hub):
    app, party_id = llng_hub
    header, payload, signature = llng.client_credentials_token(scope="openid parties:read").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 3600
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    response = app.test_client().get(
        f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {header}.{forged_payload}.{signature}"}
    )

    assert_problem(response, 401)


@needs_llng
def test_a_lemonldap_client_unknown_to_the_hub_is_401(llng, llng_hub):
    app, party_id = llng_hub
    token = llng.client_credentials_token(scope="openid parties:read", client_id="gru-stranger")
    response = app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"})
    assert "does not know" in assert_problem(response, 401)["detail"]


# -- a JWKS that rotates --------------------------------------------------------------------


class RotatingJwks:
    """A real HTTP JWKS endpoint on 127.0.0.1 whose keys the test replaces."""

    def __init__(self):
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "key-1"})]
        self.fetches = 0
        self.server = make_server("127.0.0.1", 0, self._serve)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _serve(self, environ, start_response):
        self.fetches += 1
        body = json.dumps({"keys": [key.as_dict(private=False) for key in self.keys]})
        return Response(body, mimetype="application/json")(environ, start_response)

    def sign(self, key, claims):
        return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key)

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


ISSUER = "https://idp.province-sud.test"


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    jwks = RotatingJwks()
    app = _hub_with_issuer(
        tmp_path_factory,
        {"issuer": ISSUER, "jwks_uri": jwks.url, "audience": AUDIENCE, "jwks_refetch_seconds": 0},
    )
    party_id = _seed(app, "cantine", FAMILY_ONLY)
    yield jwks, app, party_id
    jwks.stop()


def _claims(**changes):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "client_id": "cantine", "iat": now, "exp": now + 300, **changes}


def test_a_key_rotation_is_followed_without_restart(rotating):
    jwks, app, party_id = rotating
    client = app.test_client()
    url = f"/api/v1/parties/{party_id}"
    assert client.get(url, headers={"Authorization": "Bearer " + jwks.sign(jwks.keys[0], _claims())}).status_code == 200

    jwks.keys = [RSAKey.generate_key(2048, parameters={"kid": "key-2"})]
    response = client.get(url, headers={"Authorization": "Bearer " + jwks.sign(jwks.keys[0], _claims())})

    assert response.status_code == 200


def test_an_unknown_kid_after_refetch_is_401(rotating):
    jwks, app, party_id = rotating
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    response = app.test_client().get(
        f"/api/v1/parties/{party_id}", headers={"Authorization": "Bearer " + jwks.sign(stranger, _claims())}
    )
    assert "does not publish" in assert_problem(response, 401)["detail"]


def _signed_by_hand(header, claims, key):
    """RS256 over any header: joserfc itself refuses to emit unknown critical parameters."""
    def encode(document):
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    signing_input = f"{encode(header)}.{encode(claims)}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header_extra",
    [{"jku": "https://evil.test/jwks"}, {"x5u": "https://evil.test/cert"},
     {"crit": ["urn:gru:test"], "urn:gru:test": True}],
    ids=["jku", "x5u", "crit"],
)
def test_headers_pointing_elsewhere_or_critical_are_401(rotating, header_extra):
    jwks, app, party_id = rotating
    key = jwks.keys[0]
    token = _signed_by_hand({"alg": "RS256", "typ": "at+jwt", "kid": key.kid, **header_extra}, _claims(), key)
    assert_problem(app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"}), 401)


def test_an_embedded_jwk_header_is_401(rotating):
    jwks, app, party_id = rotating
    attacker = RSAKey.generate_key(2048, parameters={"kid": jwks.keys[0].kid})
    header = {"alg": "RS256", "typ": "at+jwt", "kid": attacker.kid, "jwk": attacker.as_dict(private=False)}
    token = jwt.encode(header, _claims(), attacker)
    assert_problem(app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"}), 401)


def test_an_id_token_is_not_an_access_token(rotating):
    jwks, app, party_id = rotating
    key = jwks.keys[0]
    token = jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, _claims(nonce="n-0S6_WzA2Mj", at_hash="x"), key)
    response = app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"})
    assert "ID token" in assert_problem(response, 401)["detail"]


def test_an_unknown_algorithm_is_401(rotating):
    jwks, app, party_id = rotating
    key = jwks.keys[0]
    token = jwt.encode({"alg": "PS256", "typ": "at+jwt", "kid": key.kid}, _claims(), key, algorithms=["PS256"])
    assert_problem(app.test_client().get(f"/api/v1/parties/{party_id}", headers={"Authorization": f"Bearer {token}"}), 401)
