"""Bearer tokens on the API: only the hub's own valid tokens for registered applications pass."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.api_helpers import assert_problem
from tests.factories.auth import fetch_token, make_application


@pytest.fixture
def registered(db_session):
    return make_application("etat-civil", scopes=["parties:read"])


def _claims(app, application, **changes):
    now = int(time.time())
    claims = {
        "iss": app.config["GRU_BASE_URL"],
        "aud": app.config["GRU_API_AUDIENCE"],
        "client_id": application.client_id,
        "sub": application.client_id,
        "scope": "parties:read",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hub_key(app):
    return KeySet([app.extensions["gru.keyring"].signing_key])


def _get(client, token):
    return client.get("/api/v1/parties", headers={"Authorization": f"Bearer {token}"})


def test_token_endpoint_issues_rfc9068_tokens(client, app, registered):
    application, secret = registered
    token = fetch_token(client, application, secret)

    header = jwt.decode(token, app.extensions["gru.keyring"].public_key_set()).header
    assert header["typ"] == "at+jwt" and header["kid"] == app.extensions["gru.keyring"].signing_kid
    assert _get(client, token).status_code == 200


def test_token_endpoint_refuses_a_wrong_secret(client, registered):
    application, _ = registered
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(application.client_id, "guess"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_jwks_publishes_public_keys_only(client, app):
    keys = client.get("/oauth/jwks").get_json()["keys"]
    assert keys and all("d" not in key and "p" not in key for key in keys)


def test_missing_token_is_401_with_www_authenticate(client):
    response = client.get("/api/v1/parties")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "another-api"}, "wrong audience"),
        ({"iss": "https://idp.elsewhere.test"}, "untrusted issuer"),
        ({"exp": None}, "no expiry"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"client_id": "nobody", "sub": "nobody"}, "unregistered application"),
    ],
)
def test_invalid_claims_are_401(client, app, registered, change, reason):
    application, _ = registered
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, _claims(app, application, **change), _hub_key(app))

    response = _get(client, token)

    problem = assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert token not in problem["detail"], reason


def test_token_signed_with_another_key_is_401(client, app, registered):
    application, _ = registered
    stranger = KeySet([RSAKey.generate_key(2048, parameters={"kid": app.extensions["gru.keyring"].signing_kid})])
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, _claims(app, application), stranger)
    assert_problem(_get(client, token), 401)


def test_alg_none_and_hs256_with_the_public_key_are_401(client, app, registered):
    application, _ = registered
    public_pem = app.extensions["gru.keyring"].signing_key.as_pem(private=False)
    payload = _b64(json.dumps(_claims(app, application)).encode())
    # Built by hand: joserfc itself refuses to use a public key as an HMAC secret.
    signing_input = _b64(b'{"alg":"HS256","typ":"at+jwt"}') + "." + payload
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = signing_input + "." + _b64(signature)
    unsigned = _b64(b'{"alg":"none","typ":"at+jwt"}') + "." + payload + "."
    assert_problem(_get(client, confused), 401)
    assert_problem(_get(client, unsigned), 401)


def test_tampered_payload_is_401(client, registered):
    application, secret = registered
    token = fetch_token(client, application, secret)
    header, payload, signature = token.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert_problem(_get(client, ".".join((header, tampered, signature))), 401)


def test_missing_scope_is_403(client, registered):
    token = fetch_token(client, *registered)
    body = {"kind": "person", "attributes": {}, "channel": "desk", "process": "declared"}
    response = client.post("/api/v1/parties", json=body, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_disabled_application_is_401(client, db_session, registered):
    application, secret = registered
    token = fetch_token(client, application, secret)
    application.is_active = False
    db_session.flush()
    assert_problem(_get(client, token), 401)
