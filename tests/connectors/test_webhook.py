"""The webhook connector against a real HTTP receiver and a token provider on 127.0.0.1."""

import json
import logging

import pytest
from joserfc.jwk import RSAKey
from standardwebhooks.webhooks import Webhook

from gru.connectors import services
from gru.connectors.webhook import new_secret
from gru.extensions import db
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import update_party
from tests.connectors.conftest import contract
from tests.factories.identity import DESK_AGENT, make_party


def _move(party):
    update_party(party.id, "*", {"postal_address": {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800"}},
                 make_provenance("desk", "declared"), DESK_AGENT)
    db.session.commit()


def _verify(secret, request):
    headers = {key.lower(): value for key, value in request["headers"].items()}
    return Webhook(secret).verify(request["body"], headers)


def test_events_arrive_as_signed_cloudevents_with_a_bearer_token(make_instance, webhook_config, receiver, tokens,
                                                                 dispatcher, db_session):
    config = webhook_config()
    make_instance("webhook", code="ccas", config=config,
                  contract_document=contract(attributes=["postal_address"], events=["party.updated"]))
    party = make_party()
    _move(party)
    dispatcher.drain()
    (request,) = receiver.requests
    event = _verify(config["secrets"][0], request)
    assert request["headers"]["Content-Type"] == "application/cloudevents+json"
    assert request["headers"]["Authorization"].startswith("Bearer ")
    assert event["specversion"] == "1.0" and event["type"] == "gru.party.updated"
    assert event["source"] == "http://hub.test" and event["subject"] == str(party.id)
    assert event["id"] == request["headers"]["Webhook-Id"] and event["sequence"] == "2"
    assert set(event["data"]["party"]["attributes"]) == {"postal_address"}  # only what the contract reads
    assert event["data"]["party"]["attributes"]["postal_address"]["lines"] == ["12 rue Jean Jaurès"]
    assert event["data"]["changed"] == ["postal_address"]
    assert tokens.requests[-1]["method"] == "client_secret_basic"


def test_key_rotation_signs_with_every_secret(make_instance, webhook_config, receiver, dispatcher, db_session):
    old, new = new_secret(), new_secret()
    make_instance("webhook", config=webhook_config(secrets=[new, old]))
    make_party()
    db.session.commit()
    dispatcher.drain()
    (request,) = receiver.requests
    assert len(request["headers"]["Webhook-Signature"].split(" ")) == 2
    assert _verify(old, request)["type"] == "gru.party.created"
    assert _verify(new, request)["type"] == "gru.party.created"


def test_client_secret_post(make_instance, webhook_config, receiver, tokens, dispatcher, db_session):
    make_instance("webhook", config=webhook_config(auth_method="client_secret_post"))
    make_party()
    db.session.commit()
    dispatcher.drain()
    assert receiver.applied and tokens.requests[-1]["method"] == "client_secret_post"


def test_private_key_jwt_sends_the_kid_and_the_provider_checks_the_registered_key(
        make_instance, receiver, tokens, dispatcher, db_session):
    key = RSAKey.generate_key(2048, parameters={"kid": "connector-key-1"})
    tokens.register("pkjwt-client", public_jwk=key.as_dict(private=False))
    config = {"url": receiver.url, "secrets": [new_secret()], "token_url": tokens.token_url,
              "client_id": "pkjwt-client", "auth_method": "private_key_jwt",
              "private_key": json.dumps(key.as_dict(private=True)), "kid": "connector-key-1"}
    make_instance("webhook", config=config)
    make_party()
    db.session.commit()
    dispatcher.drain()
    assert len(receiver.applied) == 1
    assert tokens.requests[-1] == {**tokens.requests[-1], "client_id": "pkjwt-client", "method": "private_key_jwt"}


def test_private_key_jwt_with_an_unregistered_key_is_refused_and_dead(make_instance, receiver, tokens, dispatcher,
                                                                      db_session):
    registered = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    tokens.register("pkjwt-other", public_jwk=registered.as_dict(private=False))
    make_instance("webhook", config={"url": receiver.url, "secrets": [new_secret()], "token_url": tokens.token_url,
                                     "client_id": "pkjwt-other", "auth_method": "private_key_jwt",
                                     "private_key": other.as_pem(private=True).decode(), "kid": "k1"})
    make_party()
    db.session.commit()
    dispatcher.drain()
    assert receiver.requests == []
    from gru.connectors.dispatch import list_deliveries

    (delivery,) = list_deliveries()
    assert delivery.status == "dead" and "invalid_client" in delivery.last_error


def test_the_token_is_cached_and_fetched_again_after_a_401(make_instance, webhook_config, receiver, tokens,
                                                           dispatcher, db_session):
    make_instance("webhook", config=webhook_config())
    for _ in range(3):
        make_party()
    db.session.commit()
    fetched = len(tokens.requests)
    dispatcher.drain()
    assert len(tokens.requests) - fetched == 1  # one token for three sends
    tokens.rotate()  # the provider replaced its key: every token it gave is refused
    make_party()
    db.session.commit()
    dispatcher.drain()
    assert len(tokens.requests) - fetched == 2
    assert len(receiver.applied) == 4
    assert [r["headers"].get("Authorization") is not None for r in receiver.requests] == [True] * 5


def test_no_secret_or_token_in_logs_errors_or_read_back(make_instance, webhook_config, receiver, tokens, dispatcher,
                                                        db_session, caplog):
    config = webhook_config()
    instance = make_instance("webhook", config=config)
    receiver.behaviour.status = 400
    caplog.set_level(logging.DEBUG)
    make_party()
    db.session.commit()
    dispatcher.drain()
    document = services.instance_document(services.get_instance(instance.name))
    assert document["config"]["client_secret"] == "********"
    assert document["config"]["secrets"] == ["********"]
    from gru.connectors.dispatch import list_deliveries

    (delivery,) = list_deliveries()
    assert delivery.status == "dead" and delivery.last_error.endswith("answered 400")
    tokens_given = tokens.valid
    texts = [caplog.text, delivery.last_error, json.dumps(document, default=str)]
    for text in texts:
        assert config["client_secret"] not in text and config["secrets"][0] not in text
        assert not any(token in text for token in tokens_given)
    stored = services.get_instance(instance.name).config_ciphertext
    assert config["client_secret"].encode() not in stored


@pytest.mark.parametrize("config, field", [
    ({"url": "ftp://x", "secrets": ["whsec_" + "A" * 44]}, "config.url"),
    ({"url": "http://127.0.0.1:1", "secrets": ["nope"]}, "config.secrets"),
    ({"url": "http://127.0.0.1:1", "secrets": ["whsec_" + "A" * 44], "token_url": "http://127.0.0.1:2/t"},
     "config.client_id"),
    ({"url": "http://127.0.0.1:1", "secrets": ["whsec_" + "A" * 44], "colour": "blue"}, "config.colour"),
])
def test_configuration_is_validated(make_instance, config, field, db_session):
    from gru.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        make_instance("webhook", config=config)
    assert field in refused.value.errors
