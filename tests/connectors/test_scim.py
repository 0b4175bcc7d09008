"""The scim connector against scim2-server on 127.0.0.1 (RFC 7643/7644)."""

import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server
from sqlalchemy import select

from gru.connectors.scim import EXTENSION, USER
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import CrossReference
from gru.identity.services.context import make_provenance
from gru.identity.services.links import create_link
from gru.identity.services.parties import get_party, update_party
from tests.connectors.conftest import contract
from tests.connectors.scim_server import ScimServer
from tests.factories.identity import DESK_AGENT, make_party


@pytest.fixture
def scim(tokens):
    server = ScimServer(tokens)
    yield server
    server.stop()


@pytest.fixture
def scim_instance(make_instance, tokens, scim):
    def make(contract_document=None, code="crm"):
        client_id = f"scim-{len(tokens.clients)}"
        tokens.register(client_id, secret="scim-secret-" + client_id)
        return make_instance("scim", code=code, config={
            "base_url": scim.url, "token_url": tokens.token_url, "client_id": client_id,
            "client_secret": "scim-secret-" + client_id}, contract_document=contract_document or contract())
    return make


def _by_external_id(scim):
    return {resource.get("externalId"): resource for resource in scim.resources()}


def _local_id(party_id, code="crm"):
    party = get_party(party_id)
    return db.session.scalar(select(CrossReference.local_id).where(CrossReference.party_pk == party.pk,
                                                                  CrossReference.application_code == code))


def test_a_person_becomes_a_user_with_the_extension_and_its_id_a_cross_reference(scim_instance, scim, dispatcher,
                                                                                   db_session):
    scim_instance()
    party = make_party(attributes={"family_name": "Wamytan", "given_names": "Élise", "birth_date": "1987-03-14",
                                   "email": "elise@example.nc"})
    db.session.commit()
    dispatcher.drain()
    user = _by_external_id(scim)[str(party.id)]
    assert user["userName"] == str(party.id) and user["name"]["familyName"] == "Wamytan"
    assert user["emails"][0]["value"] == "elise@example.nc"
    assert set(user["schemas"]) == {USER, EXTENSION} and user[EXTENSION]["birthDate"] == "1987-03-14"
    assert _local_id(party.id) == user["id"]


def test_an_address_change_is_a_patch_with_if_match_and_only_what_the_contract_reads(scim_instance, scim,
                                                                                     dispatcher, db_session):
    scim_instance(contract(attributes=["family_name", "postal_address"]))
    party = make_party()
    db.session.commit()
    dispatcher.drain()
    update_party(party.id, "*", {"postal_address": {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800"}},
                 make_provenance("desk", "declared"), DESK_AGENT)
    db.session.commit()
    scim.app.calls.clear()
    dispatcher.drain()
    user = _by_external_id(scim)[str(party.id)]
    assert user["addresses"][0]["postalCode"] == "98800"
    assert user["addresses"][0]["locality"] == "Nouméa"
    assert "birthDate" not in user.get(EXTENSION, {}) and "name" in user and "givenName" not in user["name"]
    assert [method for method, _path in scim.app.calls] == ["GET", "PATCH"]
    assert user["meta"]["version"] == 'W/"2"'


def test_a_household_is_a_group_with_its_members(scim_instance, scim, dispatcher, clock, db_session):
    scim_instance()
    person = make_party()
    household = make_party("household", {"name": "Foyer Wamytan"})
    create_link(person_id=person.id, kind="member_of", target_id=household.id, role="head", channel="desk",
                actor=DESK_AGENT)
    db.session.commit()
    for _ in range(3):
        dispatcher.drain()
        clock.advance(minutes=5)
    resources = _by_external_id(scim)
    group = resources[str(household.id)]
    assert group["displayName"] == "Foyer Wamytan"
    assert [member["value"] for member in group["members"]] == [resources[str(person.id)]["id"]]


def test_a_resource_lost_by_the_provider_is_created_again(scim_instance, scim, dispatcher, db_session):
    scim_instance()
    party = make_party()
    db.session.commit()
    dispatcher.drain()
    first = _local_id(party.id)
    scim.storage.resources = []  # the provider lost everything
    update_party(party.id, "*", {"email": "elise@example.nc"}, make_provenance("desk", "declared"), DESK_AGENT)
    db.session.commit()
    dispatcher.drain()
    second = _local_id(party.id)
    assert second and second != first
    assert _by_external_id(scim)[str(party.id)]["id"] == second


def test_an_erased_party_is_deleted_and_its_cross_reference_removed(scim_instance, scim, dispatcher, db_session):
    scim_instance()
    party = make_party()
    db.session.commit()
    dispatcher.drain()
    party = get_party(party.id)
    party.status = "erased"
    record_event(db.session, "party.erased", party, {})
    db.session.commit()
    dispatcher.drain()
    assert str(party.id) not in _by_external_id(scim)
    assert _local_id(party.id) is None


def test_the_test_server_passes_scim2_tester(scim):
    """scim2-tester checks a *server*; the connector is a client. Running it against the
    server the connector is tested with (with the hub's extension schema) shows that
    what the connector passes against is a conformant SCIM 2.0 provider."""
    conformance = ScimServer(tokens=None)
    try:
        client = WSGISCIMClient(conformance.app, base_url=conformance.url)
        results = check_server(client, resource_types=["User", "Group"])
        failures = [(r.title, r.reason) for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
        assert results and failures == []
    finally:
        conformance.stop()
