"""The connectors' admin API, and the issue's "done when": an address change made through
the API reaches a webhook receiver and a SCIM server, each with only what its contract
allows, signed and authenticated."""

import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from gru.connectors.scim import EXTENSION
from gru.connectors.webhook import new_secret
from gru.extensions import db
from tests.api_helpers import assert_problem
from tests.connectors.conftest import contract
from tests.connectors.scim_server import ScimServer
from tests.factories.auth import fetch_token, make_application


@pytest.fixture
def admin(client, db_session):
    application, secret = make_application("admin-console", contract=None)
    return {"Authorization": f"Bearer {fetch_token(client, application, secret, scope='admin')}"}


def test_instances_are_managed_with_secrets_masked(client, admin, db_session):
    make_application("ccas", contract=contract())
    body = {"name": "ccas-hook", "type": "webhook", "application": "ccas",
            "config": {"url": "http://127.0.0.1:9/e", "secrets": [new_secret()]}}
    created = client.post("/api/v1/connectors", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["config"]["secrets"] == ["********"]
    assert body["config"]["secrets"][0] not in created.get_data(as_text=True)
    assert_problem(client.post("/api/v1/connectors", json=body, headers=admin), 409)
    assert_problem(client.post("/api/v1/connectors", json={**body, "name": "x", "config": {"url": 1}},
                               headers=admin), 422)
    assert_problem(client.post("/api/v1/connectors", json={**body, "name": "y", "type": "smtp"}, headers=admin), 422)
    patched = client.patch("/api/v1/connectors/ccas-hook",
                           json={"config": {"url": "http://127.0.0.1:9/f", "secrets": ["********"]}, "is_enabled": False},
                           headers=admin)
    assert patched.status_code == 200 and patched.get_json()["is_enabled"] is False
    assert client.get("/api/v1/connectors", headers=admin).get_json()["items"][0]["config"]["url"].endswith("/f")
    types = client.get("/api/v1/connector-types", headers=admin).get_json()["items"]
    assert {item["name"]: item["secret_fields"] for item in types}["webhook"][0] == "secrets"
    assert client.get("/api/v1/connector-status", headers=admin).get_json()["items"][0]["lag_seconds"] == 0.0
    assert_problem(client.get("/api/v1/connectors/missing", headers=admin), 404)
    assert_problem(client.post("/api/v1/deliveries/0/replay", headers=admin), 404)
    assert client.delete("/api/v1/connectors/ccas-hook", headers=admin).status_code == 204


def test_the_admin_scope_is_required(client, headers, db_session):
    application, secret = make_application("reader", scopes=["parties:read"])
    token = fetch_token(client, application, secret)
    assert_problem(client.get("/api/v1/connectors", headers={"Authorization": f"Bearer {token}"}), 403)


def test_an_address_change_through_the_api_reaches_webhook_and_scim_each_as_its_contract_allows(
        client, headers, admin, create_person, receiver, tokens, webhook_config, dispatcher, db_session):
    scim = ScimServer(tokens)
    try:
        tokens.register("crm-client", secret="crm-secret")
        make_application("ccas", contract=contract(attributes=["postal_address"], events=["party.updated"]))
        make_application("crm", contract=contract(attributes=["family_name", "given_names", "email",
                                                              "postal_address"]))
        hook = webhook_config()
        for body in ({"name": "ccas-hook", "type": "webhook", "application": "ccas", "config": hook},
                     {"name": "crm-scim", "type": "scim", "application": "crm",
                      "config": {"base_url": scim.url, "token_url": tokens.token_url, "client_id": "crm-client",
                                 "client_secret": "crm-secret", "auth_method": "client_secret_post"}}):
            assert client.post("/api/v1/connectors", json=body, headers=admin).status_code == 201
        person = create_person()
        party_id = person.get_json()["party"]["id"]
        dispatcher.drain()  # the SCIM create records crm's cross-reference: the record moves on
        etag = client.get(f"/api/v1/parties/{party_id}", headers=headers).headers["ETag"]
        moved = client.patch(f"/api/v1/parties/{party_id}", headers={**headers, "If-Match": etag},
                             json={"attributes": {"postal_address": {"lines": ["3 rue de Sébastopol"],
                                                                     "postal_code": "98800"}},
                                   "channel": "desk", "process": "official_proof_scan_checked"})
        assert moved.status_code == 200, moved.get_json()
        dispatcher.drain()

        (request,) = receiver.requests  # ccas subscribes to party.updated only
        headers_ = {key.lower(): value for key, value in request["headers"].items()}
        event = Webhook(hook["secrets"][0]).verify(request["body"], headers_)
        assert tokens.is_valid(request["headers"]["Authorization"])
        assert event["data"]["party"]["attributes"].keys() == {"postal_address"}

        (user,) = [r for r in scim.resources() if r.get("externalId") == party_id]
        assert user["addresses"][0]["streetAddress"] == "3 rue de Sébastopol"
        assert user["name"] == {"familyName": "Wamytan", "givenName": "Élise Marie"}
        assert "birthDate" not in user.get(EXTENSION, {}) and "sex" not in user.get(EXTENSION, {})

        listed = client.get(f"/api/v1/parties/{party_id}/deliveries", headers=admin).get_json()["items"]
        assert {(item["instance"], item["event_type"], item["status"]) for item in listed} >= {
            ("ccas-hook", "party.updated", "delivered"), ("crm-scim", "party.created", "delivered"),
            ("crm-scim", "party.updated", "delivered")}
        from gru.identity.services.records import read_record

        references = read_record(uuid.UUID(party_id)).document["cross_references"]
        assert {"application": "crm", "local_id": user["id"]} in references
    finally:
        scim.stop()


def test_dead_letters_are_replayed_through_the_api(client, admin, make_instance, dispatcher, db_session):
    instance = make_instance("null", config={"fail_with": "failed"})
    from tests.factories.identity import make_party

    make_party()
    db.session.commit()
    dispatcher.drain()
    (dead,) = client.get(f"/api/v1/connectors/{instance.name}/deliveries?status=dead", headers=admin).get_json()["items"]
    assert dead["attempts"] == 1 and dead["last_error"]
    again = client.post(f"/api/v1/deliveries/{dead['id']}/replay", headers=admin)
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    dispatcher.drain()
    assert client.post(f"/api/v1/connectors/{instance.name}/replay", headers=admin).get_json() == {"replayed": 1}


def test_a_connector_named_status_is_its_own_resource(client, admin, db_session):
    # the status of every instance lives at /connector-status, so no name is shadowed
    make_application("ccas", contract=contract())
    body = {"name": "status", "type": "webhook", "application": "ccas",
            "config": {"url": "http://127.0.0.1:9/e", "secrets": [new_secret()]}}
    assert client.post("/api/v1/connectors", json=body, headers=admin).status_code == 201
    assert client.get("/api/v1/connectors/status", headers=admin).get_json()["name"] == "status"
    assert [item["name"] for item in client.get("/api/v1/connector-status", headers=admin).get_json()["items"]] == ["status"]
