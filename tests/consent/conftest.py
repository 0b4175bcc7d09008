"""Fixtures of the consent tests: purposes in the register, a person, real tokens of
applications whose contracts grant (or not) the consent rights."""

import pytest
from flask import current_app

from gru.auth.contracts import full_access_document
from gru.consent.services import declare_purpose
from gru.extensions import db
from tests.factories.auth import fetch_token, make_application
from tests.factories.identity import make_party

NEWSLETTER = {
    "code": "newsletter", "label": "Lettre d'information de la ville", "lawful_basis": "consent",
    "data_categories": ["identity", "email"], "recipients": ["service communication"], "retention_days": 1095,
}
CANTEEN = {
    "code": "school_canteen", "label": "Restauration scolaire", "lawful_basis": "public_task",
    "data_categories": ["identity", "household"], "recipients": ["service éducation"],
    "retention_text": "jusqu'à la fin de l'année scolaire, puis deux ans",
}


def make_purpose(**fields):
    """A purpose of the register: the newsletter, with ``fields`` changed (a retention
    text replaces the number of days)."""
    base = {key: value for key, value in NEWSLETTER.items() if key != "retention_days" or "retention_text" not in fields}
    purpose = declare_purpose({**base, **fields}, author="tests")
    db.session.flush()
    return purpose


def consent_contract(consents=("read", "write"), purposes=("test",), **extra):
    catalogue = current_app.extensions["gru.catalogue"]
    return {**full_access_document(catalogue, purposes=list(purposes)), "consents": list(consents), **extra}


@pytest.fixture
def newsletter(db_session):
    return make_purpose()


@pytest.fixture
def canteen(db_session):
    return make_purpose(**CANTEEN)


@pytest.fixture
def person(db_session):
    party = make_party()
    db.session.flush()
    return party


@pytest.fixture
def make_token(client, db_session):
    """``make_token(code, consents=("read", "write"), scopes=None, **contract)``: headers with a real token."""

    def make(code="portail", consents=("read", "write"), scopes=None, **extra):
        application = make_application(code, scopes=scopes, contract=consent_contract(consents, **extra))
        return {"Authorization": f"Bearer {fetch_token(client, *application)}"}

    return make


@pytest.fixture
def headers(make_token):
    return make_token("portail")


@pytest.fixture
def give(client, headers, newsletter):
    """``give(party, **fields)``: POST a consent (given by default); returns the response."""

    def send(party, headers=headers, **fields):
        body = {"purpose": "newsletter", "state": "given", "channel": "online", "text_version": "newsletter-v1",
                **fields}
        return client.post(f"/api/v1/parties/{party.id}/consents", json=body, headers=headers)

    return send
