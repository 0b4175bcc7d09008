"""Checks of the LemonLDAP::NG test harness (tests/support/llng.py).

These tests exercise the harness itself against a real LemonLDAP::NG portal;
the hub's own tests use the same harness as a fixture. They skip, with the
command to run, when LemonLDAP::NG is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import time
import urllib.parse

import pytest
import requests

from .llng import LemonLDAP, LemonLDAPError, llng_available

joserfc = pytest.importorskip("joserfc")
from joserfc import jwt  # noqa: E402
from joserfc.errors import BadSignatureError, JoseError  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402

DESK_REDIRECT_URI = "http://127.0.0.1:5999/auth/oidc/callback"


def _require_llng() -> None:
    ok, reason = llng_available()
    if not ok:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def llng(tmp_path_factory):
    _require_llng()
    provider = LemonLDAP(tmp_path_factory.mktemp("llng"), desk_redirect_uri=DESK_REDIRECT_URI)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="module")
def jwks(llng):
    r = requests.get(llng.jwks_uri, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def keyset(jwks):
    return KeySet.import_key_set(jwks)


def _segments(token: str) -> tuple[dict, dict]:
    def part(s: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def _tamper(token: str) -> str:
    """Change one character in the middle of the payload segment."""
    header, payload, signature = token.split(".")
    i = len(payload) // 2
    replacement = "A" if payload[i] != "A" else "B"
    return ".".join([header, payload[:i] + replacement + payload[i + 1 :], signature])


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_url(llng: LemonLDAP, challenge: str, state: str, nonce: str) -> str:
    query = {
        "response_type": "code",
        "client_id": llng.desk_client_id,
        "redirect_uri": llng.desk_redirect_uri,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return llng.authorization_endpoint + "?" + urllib.parse.urlencode(query)


def _code_from(redirect: str, state: str) -> str:
    assert redirect.startswith(DESK_REDIRECT_URI + "?"), redirect
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect).query)
    assert params["state"] == [state]
    return params["code"][0]


# (a) ---------------------------------------------------------------------


def test_llng_available_reports_a_reason():
    ok, reason = llng_available()
    assert isinstance(ok, bool)
    if ok:
        assert reason == ""
    else:
        assert "scripts/install-llng.sh" in reason


# (b) ---------------------------------------------------------------------


def test_discovery_and_jwks(llng, jwks):
    r = requests.get(llng.discovery_url, timeout=10)
    assert r.status_code == 200
    meta = r.json()
    port = llng.port
    assert llng.issuer == f"http://127.0.0.1:{port}/"
    assert meta["issuer"] == llng.issuer
    assert meta["jwks_uri"] == llng.jwks_uri == f"http://127.0.0.1:{port}/oauth2/jwks"
    assert meta["token_endpoint"] == llng.token_endpoint
    assert meta["authorization_endpoint"] == llng.authorization_endpoint
    assert "client_credentials" in meta["grant_types_supported"]
    assert "authorization_code" in meta["grant_types_supported"]
    assert "S256" in meta["code_challenge_methods_supported"]
    for url in (meta["issuer"], meta["jwks_uri"], meta["token_endpoint"], meta["authorization_endpoint"]):
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1"

    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["kid"] == llng.key_id
    assert {"n", "e"} <= key.keys()
    assert "d" not in key  # only the public part is published


# (c) ---------------------------------------------------------------------


def test_client_credentials_token_is_a_verified_jwt(llng, keyset):
    raw = llng.client_credentials_token()
    header, _ = _segments(raw)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": llng.key_id}

    token = jwt.decode(raw, keyset, algorithms=["RS256"])
    claims = token.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": llng.issuer},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(claims)
    assert claims["exp"] > time.time()
    # LLNG emits aud as a list holding the client id, plus a client_id claim
    assert claims["aud"] == [llng.cc_client_id]
    assert claims["client_id"] == llng.cc_client_id
    assert claims["sub"] == llng.cc_client_id
    assert claims["scope"] == "openid"
    assert claims["jti"]


def test_client_credentials_custom_scope(llng, keyset):
    raw = llng.client_credentials_token(scope="openid gru:read")
    claims = jwt.decode(raw, keyset, algorithms=["RS256"]).claims
    assert claims["scope"].split() == ["openid", "gru:read"]


def test_client_credentials_wrong_secret_is_refused(llng):
    r = requests.post(
        llng.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(llng.cc_client_id, "not-the-secret"),
        timeout=10,
    )
    assert r.status_code in (400, 401)
    assert r.json()["error"] == "invalid_client"


def test_desk_client_may_not_use_client_credentials(llng):
    r = requests.post(
        llng.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(llng.desk_client_id, llng.desk_client_secret),
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"


# (d) ---------------------------------------------------------------------


def test_tampered_token_fails_verification(llng, keyset):
    raw = llng.client_credentials_token()
    tampered = _tamper(raw)
    assert tampered != raw
    with pytest.raises(BadSignatureError):
        jwt.decode(tampered, keyset, algorithms=["RS256"])


def test_token_signed_by_another_key_fails(llng):
    from joserfc.jwk import RSAKey

    raw = llng.client_credentials_token()
    other = RSAKey.generate_key(2048, parameters={"kid": llng.key_id}, private=True)
    with pytest.raises(JoseError):
        jwt.decode(raw, KeySet([other]), algorithms=["RS256"])


# (e) ---------------------------------------------------------------------


def _exchange_code(llng, code, verifier):
    """The desk client's token request for an authorization code (RFC 7636 section 4.5)."""
    return requests.post(
        llng.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": llng.desk_redirect_uri,
            "code_verifier": verifier,
        },
        auth=(llng.desk_client_id, llng.desk_client_secret),
        timeout=10,
    )


def test_authorization_code_with_pkce(llng, keyset):
    verifier, challenge = _pkce_pair()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    browser = requests.Session()
    redirect = llng.login(browser, _authorize_url(llng, challenge, state, nonce), user="dwho", password="dwho")
    code = _code_from(redirect, state)

    r = _exchange_code(llng, code, verifier)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["token_type"] == "Bearer"

    header, _ = _segments(answer["id_token"])
    assert header == {"alg": "RS256", "typ": "JWT", "kid": llng.key_id}
    id_token = jwt.decode(answer["id_token"], keyset, algorithms=["RS256"])
    claims = id_token.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": llng.issuer},
        sub={"essential": True, "value": "dwho"},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(claims)
    assert claims["aud"] == [llng.desk_client_id]
    assert claims["azp"] == llng.desk_client_id
    assert claims["at_hash"] == _half_hash(answer["access_token"])
    assert claims["name"] == "Doctor Who"
    assert claims["email"] == "dwho@badwolf.org"
    assert claims["preferred_username"] == "dwho"

    # the access token is a JWT too, for the desk client
    at = jwt.decode(answer["access_token"], keyset, algorithms=["RS256"]).claims
    assert at["client_id"] == llng.desk_client_id and at["sub"] == "dwho"

    info = requests.get(
        llng.userinfo_endpoint, headers={"Authorization": "Bearer " + answer["access_token"]}, timeout=10
    )
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": "dwho",
        "name": "Doctor Who",
        "email": "dwho@badwolf.org",
        "preferred_username": "dwho",
    }

    # a code is good once
    again = _exchange_code(llng, code, verifier)
    assert again.status_code == 400


def test_pkce_verifier_is_enforced(llng):
    verifier, challenge = _pkce_pair()
    state = secrets.token_urlsafe(12)
    redirect = llng.login(requests.Session(), _authorize_url(llng, challenge, state, "n"), user="rtyler", password="rtyler")
    code = _code_from(redirect, state)
    r = _exchange_code(llng, code, verifier[:-4] + "abcd")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_authorization_without_pkce_is_refused(llng):
    query = {
        "response_type": "code",
        "client_id": llng.desk_client_id,
        "redirect_uri": llng.desk_redirect_uri,
        "scope": "openid",
        "state": "s",
    }
    browser = requests.Session()
    # log in first through a proper request, then try one without a challenge
    _, challenge = _pkce_pair()
    llng.login(browser, _authorize_url(llng, challenge, "first", "n"))
    r = browser.get(llng.authorization_endpoint + "?" + urllib.parse.urlencode(query), allow_redirects=False, timeout=10)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(DESK_REDIRECT_URI + "?")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert "code" not in params
    assert params["error"] == ["invalid_request"]
    assert params["state"] == ["s"]


def test_wrong_password_is_refused(llng):
    _, challenge = _pkce_pair()
    with pytest.raises(LemonLDAPError, match="refused"):
        llng.login(requests.Session(), _authorize_url(llng, challenge, "s", "n"), user="dwho", password="nope")


# harness behaviour ----------------------------------------------------------


def test_extra_clients_and_audiences(tmp_path):
    _require_llng()
    with LemonLDAP(tmp_path, extra_clients={"app-civil": "s3cret"}, additional_audiences=("gru-hub",)) as provider:
        keys = KeySet.import_key_set(requests.get(provider.jwks_uri, timeout=10).json())
        claims = jwt.decode(provider.client_credentials_token(client_id="app-civil"), keys, algorithms=["RS256"]).claims
        assert claims["client_id"] == claims["sub"] == "app-civil"
        assert claims["aud"] == ["app-civil", "gru-hub"]
        claims = jwt.decode(provider.client_credentials_token(), keys, algorithms=["RS256"]).claims
        assert claims["aud"] == [provider.cc_client_id, "gru-hub"]


def test_start_failure_reports_log_tail(tmp_path):
    _require_llng()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = busy.getsockname()[1]
        provider = LemonLDAP(tmp_path, port=port)
        with pytest.raises(LemonLDAPError) as failure:
            provider.start(timeout=15)
    message = str(failure.value)
    assert str(tmp_path / "portal.log") in message
    assert "plackup" in message  # the tail of the log is in the message
    assert provider._proc is None


def test_stop_kills_the_process_group(tmp_path):
    _require_llng()
    provider = LemonLDAP(tmp_path)
    with provider:
        pid = provider._proc.pid
        assert requests.get(provider.discovery_url, timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(provider.discovery_url, timeout=2)
    with pytest.raises(ProcessLookupError):
        import os

        os.killpg(pid, 0)
