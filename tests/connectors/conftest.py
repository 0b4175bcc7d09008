"""Fixtures of the connectors' tests: a movable clock, receivers, a token provider,
applications with contracts and connector instances, a dispatcher."""

import random
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest
from flask import current_app

from gru.auth.contracts import full_access_document
from gru.connectors import services
from gru.connectors.null import NullConnector
from gru.connectors.runner import Dispatcher
from gru.connectors.webhook import new_secret
from gru.extensions import db
from tests.connectors.receivers import Receiver, TokenProvider
from tests.factories.auth import make_application

EVENTS = ["party.created", "party.updated", "party.merged", "party.erased", "link.created", "link.ended",
          "identifier.changed", "xref.changed", "document.verified", "document.expired"]


class Clock:
    """The real time plus an offset that tests move forward (a day passes in no time)."""

    def __init__(self):
        self.offset = timedelta()

    @property
    def now(self):
        return datetime.now(timezone.utc) + self.offset

    @now.setter
    def now(self, value):
        self.offset = value - datetime.now(timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.offset += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def dispatcher(app, db_session, clock):
    runner = Dispatcher(app, clock=clock, rng=random.Random(7))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def tokens():
    provider = TokenProvider()
    yield provider
    provider.stop()


@pytest.fixture
def receiver(tokens):
    server = Receiver(tokens)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _forget_null_messages():
    NullConnector.sent.clear()


def contract(attributes=None, events=None, kinds=None, purposes=("notify",)):
    """A contract subscribing to ``events`` and reading ``attributes`` (default: all)."""
    catalogue = current_app.extensions["gru.catalogue"]
    document = full_access_document(catalogue, purposes=list(purposes))
    if attributes is not None:
        document["attributes"] = {key: ["read"] for key in attributes}
    document["events"] = list(events or EVENTS)
    if kinds is not None:
        document["party_kinds"] = list(kinds)
    return document


@pytest.fixture
def make_instance(db_session, tokens):
    """``make_instance(type, code, config=None, contract=...)`` -> the instance row."""
    def make(type_="null", code=None, config=None, contract_document=None, name=None, **kwargs):
        application, _secret = make_application(code, contract=contract_document or contract())
        if config is None and type_ == "null":
            config = {}
        instance = services.create_instance(name or f"{application.code}-{type_}", type_, application.code,
                                            config, **kwargs)
        db.session.commit()
        # Plain values: the dispatcher's app contexts end the session the row belongs to.
        return SimpleNamespace(name=instance.name, pk=instance.pk, id=instance.id, application=application.code)
    return make


@pytest.fixture
def webhook_config(tokens, receiver):
    def build(**overrides):
        client_id = f"client-{len(tokens.clients)}"
        secret = "s3cr3t-" + client_id
        tokens.register(client_id, secret=secret)
        return {"url": receiver.url + "/events", "secrets": [new_secret()], "token_url": tokens.token_url,
                "client_id": client_id, "client_secret": secret, **overrides}
    return build
