"""Consents through the REST API, with real tokens from the hub's /oauth/token: rights of
the contract, the journal entry of every read and statement, the events in the outbox."""

import uuid

from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.events.models import Event
from gru.extensions import db
from tests.api_helpers import assert_problem
from tests.factories.identity import make_party


def journal(action):
    return list(db.session.scalars(select(JournalEntry).where(JournalEntry.action == action).order_by(JournalEntry.seq)))


def consent_events(party):
    return list(db.session.scalars(select(Event).where(Event.party_id == party.id, Event.type.like("consent.%"))
                                   .order_by(Event.sequence)))


def test_give_then_withdraw_then_read_the_history(client, headers, give, person):
    given = give(person, valid_until="2030-12-31")
    assert given.status_code == 201, given.get_json()
    body = given.get_json()
    assert body["purpose"] == "newsletter" and body["purpose_label"] == "Lettre d'information de la ville"
    assert body["state"] == "given" and body["is_in_force"] is True and body["valid_until"] == "2030-12-31"
    assert body["author"] == {"type": "application", "id": "portail"} and body["channel"] == "online"
    withdrawn = give(person, state="withdrawn", channel="email", text_version="newsletter-v1")
    assert withdrawn.status_code == 201 and withdrawn.get_json()["is_in_force"] is False

    current = client.get(f"/api/v1/parties/{person.id}/consents", headers=headers).get_json()
    assert current["party_id"] == str(person.id) and current["merged_into"] is None
    assert [(item["state"], item["channel"]) for item in current["items"]] == [("withdrawn", "email")]
    history = client.get(f"/api/v1/parties/{person.id}/consents?history=true", headers=headers).get_json()
    assert [item["state"] for item in history["items"]] == ["given", "withdrawn"]

    assert [event.type for event in consent_events(person)] == ["consent.given", "consent.withdrawn"]
    assert consent_events(person)[1].data["purpose"] == "newsletter"
    for action in ("consent:consent:give", "consent:consent:withdraw", "consent:consent:list",
                   "consent:consent:history"):
        entries = journal(action)
        assert len(entries) == 1, action
        assert entries[0].party_id == str(person.id) and entries[0].attribute_keys == ["consent:newsletter"]
        assert entries[0].actor_id == "portail" and entries[0].purpose == "test"


def test_the_change_history_shows_consents_to_those_who_may_read_them(client, headers, give, person, make_token):
    give(person)
    entries = client.get(f"/api/v1/parties/{person.id}/history", headers=headers).get_json()["items"]
    assert [(entry["key"], entry["action"]) for entry in entries if entry["subject"] == "consent"] == [
        ("newsletter", "given")]
    assert "consent:newsletter" in journal("identity:party:history")[-1].attribute_keys
    blind = make_token("caf", consents=())
    entries = client.get(f"/api/v1/parties/{person.id}/history", headers=blind).get_json()["items"]
    assert [entry for entry in entries if entry["subject"] == "consent"] == []


def test_a_public_task_purpose_takes_no_consent(client, give, person, canteen):
    problem = assert_problem(give(person, purpose="school_canteen"), 422)
    assert "public_task" in problem["detail"] and "purpose" in problem["errors"]
    assert consent_events(person) == []


def test_withdrawing_what_was_never_given_is_a_conflict(client, give, person):
    problem = assert_problem(give(person, state="withdrawn"), 409)
    assert "nothing to withdraw" in problem["detail"]
    assert journal("consent:consent:withdraw") == []


def test_the_contract_must_grant_the_consent_rights(client, give, person, make_token):
    reader = make_token("caf", consents=["read"])
    assert_problem(give(person, headers=reader), 403)
    assert client.get(f"/api/v1/parties/{person.id}/consents", headers=reader).status_code == 200
    blind = make_token("ccas", consents=[])
    assert_problem(client.get(f"/api/v1/parties/{person.id}/consents", headers=blind), 403)
    households = make_token("bailleur", party_kinds=["household"])
    assert_problem(client.get(f"/api/v1/parties/{person.id}/consents", headers=households), 403)
    assert len(journal("consent:consent:list")) == 1  # refusals disclose nothing


def test_scopes_and_tokens_are_required(client, give, person, make_token):
    read_only = make_token("caf", scopes=["parties:read"])
    assert_problem(give(person, headers=read_only), 403)
    assert_problem(client.get(f"/api/v1/parties/{person.id}/consents"), 401)
    assert_problem(client.get(f"/api/v1/parties/{person.id}/consents",
                              headers={"Authorization": "Bearer nope"}), 401)


def test_an_application_names_only_itself(client, give, person, make_token, headers):
    assert give(person, application="portail").status_code == 201
    mediatheque = make_token("mediatheque")
    assert_problem(give(person, headers=mediatheque, application="portail"), 403)
    assert give(person, headers=mediatheque, application="mediatheque").status_code == 201
    seen = client.get(f"/api/v1/parties/{person.id}/consents", headers=mediatheque).get_json()["items"]
    assert [item["application"] for item in seen] == ["mediatheque"]
    seen = client.get(f"/api/v1/parties/{person.id}/consents", headers=headers).get_json()["items"]
    assert [item["application"] for item in seen] == ["portail"]


def test_bad_bodies_are_problems(client, give, person, headers):
    assert "state" in assert_problem(give(person, state="perhaps"), 422)["errors"]
    assert "text_version" in assert_problem(give(person, text_version="a b"), 422)["errors"]
    assert "purpose" in assert_problem(give(person, purpose="unknown"), 422)["errors"]
    # characters PostgreSQL refuses in a text parameter are a 422, not a failed look-up
    assert "purpose" in assert_problem(give(person, purpose="news\u0000letter"), 422)["errors"]
    assert_problem(client.post(f"/api/v1/parties/{uuid.uuid4()}/consents", headers=headers, json={
        "purpose": "newsletter", "state": "given", "channel": "desk", "text_version": "v1"}), 404)
    assert_problem(client.get(f"/api/v1/parties/{uuid.uuid4()}/consents", headers=headers), 404)


def test_a_merged_party_answers_as_the_other_party_endpoints(client, headers, give, person, db_session):
    from gru.identity.search.merge import merge
    from tests.factories.identity import DESK_AGENT

    other = make_party()
    db_session.flush()
    give(other)
    merge(person.id, other.id, DESK_AGENT)
    db_session.flush()

    answer = client.get(f"/api/v1/parties/{other.id}/consents", headers=headers)
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "merged" and answer.get_json()["merged_into"] == str(person.id)
    assert answer.get_json()["items"] == []
    assert client.get(f"/api/v1/parties/{other.id}", headers=headers).status_code == 200
    problem = assert_problem(give(other), 422)
    assert "merged" in problem["errors"]["party"][0]
    items = client.get(f"/api/v1/parties/{person.id}/consents", headers=headers).get_json()["items"]
    assert [item["state"] for item in items] == ["given"]


def test_openapi_documents_the_consents_and_the_register(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/parties/{party_id}/consents"])
    assert {"get", "post"} <= set(paths["/api/v1/purposes"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/purposes/{code}"])
