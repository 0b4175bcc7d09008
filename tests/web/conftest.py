"""Fixtures of the pages: the desk application and its contract, agents, signing in."""

import re

import pytest
from flask import current_app

from gru.auth.agents import create_agent
from gru.auth.contracts import full_access_document
from tests.factories.auth import make_application

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path="/connexion"):
    """The CSRF token of the form at ``path`` (as a browser would read it)."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)
    return match.group(1)


def sign_in(client, login, password=PASSWORD):
    return client.post(
        "/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf_token": csrf_token(client)}
    )


@pytest.fixture
def desk(db_session):
    """The front-desk application with a full-access contract for the purpose ``accueil``."""
    catalogue = current_app.extensions["gru.catalogue"]
    application, _ = make_application("desk", contract=full_access_document(catalogue, purposes=["accueil"]))
    return application


@pytest.fixture
def make_agent(db_session):
    def make(role="agent", login=None, **kwargs):
        if "oidc_subject" not in kwargs:
            kwargs.setdefault("password", PASSWORD)
        return create_agent(login or f"{role}.test", f"{role.title()} Test", role, **kwargs)

    return make


@pytest.fixture
def signed_in(client, desk, make_agent):
    """Sign in a new agent of ``role`` on the test client; returns the agent."""

    def sign(role="agent"):
        agent = make_agent(role)
        response = sign_in(client, agent.login)
        assert response.status_code == 302, response.get_data(as_text=True)
        return agent

    return sign
