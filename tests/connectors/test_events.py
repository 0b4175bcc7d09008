"""The outbox: every change records its events in its own transaction."""

from sqlalchemy import func, select

from gru.events.models import Event
from gru.events.services import events_of, record_event
from gru.extensions import db
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.links import create_link, end_link
from gru.identity.services.parties import create_parties, update_party
from gru.identity.services.references import (
    add_cross_reference,
    add_identifier,
    remove_cross_reference,
    remove_identifier,
)
from tests.factories.identity import DESK_AGENT, make_party


def _types(party_id):
    return [(event.type, event.sequence) for event in events_of(party_id)]


def test_party_created_then_updated_with_the_keys_changed(db_session):
    party = make_party()
    update_party(party.id, "*", {"email": "elise@example.nc", "family_name": "Wamytan"},
                 make_provenance("desk", "declared"), DESK_AGENT)
    events = events_of(party.id)
    assert [(event.type, event.sequence) for event in events] == [("party.created", 1), ("party.updated", 2)]
    assert events[0].data == {"kind": "person", "attributes": ["birth_date", "birth_place", "family_name",
                                                               "given_names", "sex"]}
    assert events[1].data == {"attributes": ["email"]}  # family_name was unchanged


def test_an_update_changing_nothing_records_nothing(db_session):
    party = make_party()
    update_party(party.id, "*", {"family_name": "Wamytan"}, make_provenance("desk", "declared"), DESK_AGENT)
    assert _types(party.id) == [("party.created", 1)]


def test_create_parties_records_one_event_per_party_in_bulk(db_session):
    results = create_parties("person", [{"family_name": "A"}, {"family_name": "B"}],
                             make_provenance("import", "declared"), DESK_AGENT)
    for party_id, _outcomes in results:
        (event,) = events_of(party_id)
        assert (event.type, event.sequence, event.data["attributes"]) == ("party.created", 1, ["family_name"])


def test_links_record_one_event_per_party(db_session):
    person, household = make_party(), make_party("household", {"name": "Foyer Wamytan"})
    link = create_link(person_id=person.id, kind="member_of", target_id=household.id, role="head",
                       channel="desk", actor=DESK_AGENT)
    end_link(link.id, "*", None, "desk", DESK_AGENT)
    assert _types(person.id)[1:] == [("link.created", 2), ("link.ended", 3)]
    assert _types(household.id)[1:] == [("link.created", 2), ("link.ended", 3)]
    assert events_of(household.id)[1].data["link"]["person_id"] == str(person.id)


def test_identifiers_and_cross_references_record_their_change(db_session):
    company = make_party("company", {"legal_name": "Société Le Nickel"})
    add_identifier(company.id, "ridet", "0123456", "desk", DESK_AGENT)
    remove_identifier(company.id, "ridet", "0123456.000" if False else "0123456", "desk", DESK_AGENT)
    app = Actor(type="application", id="crm")
    add_cross_reference(company.id, "crm", "C-1", "application", app)
    remove_cross_reference(company.id, "crm", "C-1", "application", app)
    events = events_of(company.id)
    assert [event.type for event in events] == ["party.created", "identifier.changed", "identifier.changed",
                                                "xref.changed", "xref.changed"]
    assert events[1].data == {"type": "ridet", "action": "added"}
    assert events[4].data["application"] == "crm" and events[4].data["action"] == "removed"


def test_a_rolled_back_change_leaves_no_event(db_session):
    before = db.session.scalar(select(func.count()).select_from(Event))
    savepoint = db.session.begin_nested()
    party = make_party()
    record_event(db.session, "party.updated", party, {"attributes": ["email"]})
    savepoint.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event)) == before
