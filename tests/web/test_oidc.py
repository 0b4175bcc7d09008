"""Agents sign in through a real OpenID Connect provider (LemonLDAP::NG on 127.0.0.1).

The hub runs under Flask's test client, the browser's part (the provider's login form) is
played by ``requests`` (``LemonLDAP.login``), and the provider's redirect comes back to the
hub's callback on the test client: authorization code with PKCE, ID token checked by
authlib, agent found by ``sub``. SQLite only: the hub needs its own database, configured
for OIDC sign-in, beside the rolled-back one of the other page tests.
"""

import urllib.parse

import pytest
import requests

from gru.auth.agents import create_agent
from gru.extensions import db
from tests.conftest import build_app, make_instance
from tests.support.llng import LemonLDAP, llng_available

CALLBACK = "http://localhost/auth/oidc/callback"


@pytest.fixture(scope="module")
def llng(tmp_path_factory):
    ok, reason = llng_available()
    if not ok:
        pytest.skip(reason)
    with LemonLDAP(tmp_path_factory.mktemp("llng"), desk_redirect_uri=CALLBACK) as provider:
        yield provider


@pytest.fixture(scope="module")
def hub(llng, tmp_path_factory):
    instance = make_instance(tmp_path_factory)
    app = build_app(
        instance,
        f"sqlite:///{instance}/gru.sqlite3",
        GRU_BASE_URL="http://localhost",
        GRU_AGENT_LOGIN="oidc",
        GRU_OIDC_DISCOVERY_URL=llng.discovery_url,
        GRU_OIDC_CLIENT_ID=llng.desk_client_id,
        GRU_OIDC_CLIENT_SECRET=llng.desk_client_secret,
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def _sign_in_at_provider(hub, llng):
    client = hub.test_client()
    start = client.get("/connexion")
    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize_url).query)
    assert authorize_url.startswith(llng.authorization_endpoint)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["redirect_uri"] == [CALLBACK]
    returned = llng.login(requests.Session(), authorize_url)
    assert returned.startswith(CALLBACK)
    return client, client.get("/auth/oidc/callback?" + urllib.parse.urlsplit(returned).query)


def test_unregistered_subject_is_refused(hub, llng):
    _, response = _sign_in_at_provider(hub, llng)

    assert response.status_code == 403
    assert "aucun agent actif du hub ne lui correspond" in response.get_data(as_text=True)


def test_registered_agent_signs_in_and_local_login_is_not_offered(hub, llng):
    with hub.app_context():
        create_agent("docteur", "Doctor Who", "dpo", oidc_subject="dwho")
        db.session.commit()

    client, response = _sign_in_at_provider(hub, llng)

    assert response.status_code == 302 and response.headers["Location"] == "/journal"
    page = client.get("/journal")
    assert page.status_code == 200 and "Doctor Who" in page.get_data(as_text=True)
    assert hub.test_client().post("/connexion", data={"identifiant": "docteur"}).status_code in (400, 404)


def test_a_forged_callback_is_refused(hub, llng):
    client = hub.test_client()
    client.get("/connexion")

    response = client.get("/auth/oidc/callback?code=forged&state=forged")

    assert response.status_code == 400
    assert "Connexion impossible" in response.get_data(as_text=True)
