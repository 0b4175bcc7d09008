"""The fast read of a golden record and the bulk creation of parties.

:func:`read_record` runs its SQL on the DBAPI cursor (:mod:`gru.direct_sql`) and must
give exactly the document the ORM path builds; :func:`create_parties` inserts in bulk
and must leave records the ORM path reads back as if each had been created one by one.
"""

import uuid

import pytest
from sqlalchemy import func, select

from gru.errors import NotFound, ValidationFailed
from gru.identity.models import Party
from gru.identity.schemas import party_document
from gru.identity.services import parties as party_service
from gru.identity.services import references
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.records import read_record, read_records
from tests.factories.identity import DESK_AGENT, make_party

ADDRESS = {"lines": ["Résidence Les Flamboyants", "12 rue Jean Jaurès"], "postal_code": "98800"}


def orm_document(party_id):
    party = party_service.get_party(party_id)
    return party_document(party, references.identifiers_of(party), references.cross_references_of(party))


def test_read_record_is_the_orm_document(db_session):
    party = make_party(attributes={
        "family_name": "Gowé", "given_names": "Rose", "birth_date": "1961-00-00", "sex": "F",
        "email": "rose.gowe@example.nc", "postal_address": ADDRESS,
    })
    party_service.update_party(party.id, party.etag, {"email": None}, make_provenance("desk", "declared"), DESK_AGENT)
    references.add_identifier(party.id, "nir", "261039881800136", "desk", DESK_AGENT)
    references.add_cross_reference(party.id, "cafat", "A-17", "desk", DESK_AGENT)
    references.add_cross_reference(party.id, "mairie", "M-9", "desk", DESK_AGENT)
    db_session.flush()

    record = read_record(party.id)

    assert record.document == orm_document(party.id)
    document = record.document
    assert "email" not in document["attributes"]  # cleared
    assert document["provenance"]["birth_date"]["is_presumed"] is True
    assert document["attributes"]["postal_address"]["commune_name"] == "Nouméa"
    assert [item["application"] for item in document["cross_references"]] == ["cafat", "mairie"]
    assert record.etag == party_service.get_party(party.id).etag


def test_read_record_of_a_merged_party_names_its_survivor(db_session):
    survivor, merged = make_party(), make_party()
    db_session.flush()
    merged.status, merged.merged_into_pk = "merged", survivor.pk
    db_session.flush()
    document = read_record(merged.id).document
    assert (document["status"], document["merged_into"]) == ("merged", survivor.id)
    assert document == orm_document(merged.id)


def test_read_record_of_a_party_without_values(db_session):
    party = make_party(kind="household", attributes={})
    db_session.flush()
    document = read_record(party.id).document
    assert document["attributes"] == {} and document["provenance"] == {}
    assert document == orm_document(party.id)


def test_read_records_are_the_orm_documents_in_the_order_asked(db_session):
    rose = make_party(attributes={"family_name": "Gowé", "given_names": "Rose", "postal_address": ADDRESS})
    paul = make_party(attributes={"family_name": "Tein", "given_names": "Paul"})
    household = make_party(kind="household", attributes={})
    db_session.flush()
    references.add_identifier(rose.id, "nir", "261039881800136", "desk", DESK_AGENT)
    references.add_cross_reference(paul.id, "cafat", "A-17", "desk", DESK_AGENT)
    references.add_cross_reference(rose.id, "mairie", "M-9", "desk", DESK_AGENT)
    db_session.flush()

    records = read_records([paul.pk, household.pk, -1, rose.pk])  # -1: no such party, left out

    assert [record.id for record in records] == [paul.id, household.id, rose.id]
    assert [record.document for record in records] == [orm_document(party.id) for party in (paul, household, rose)]
    assert records[2].document["identifiers"] == [{"type": "nir", "value": "261039881800136"}]
    assert read_records([]) == []


def test_read_record_of_an_unknown_id_is_not_found(db_session):
    with pytest.raises(NotFound):
        read_record(uuid.uuid4())


def test_create_parties_leaves_records_as_create_party_would(db_session):
    provenance = make_provenance("import", "official_proof_scan_checked")
    created = party_service.create_parties("person", [
        {"family_name": "Wamytan", "given_names": "Élise", "mobile_phone": "+687 75.12.34", "sex": None},
        {"family_name": "Tein", "given_names": "Paul", "postal_address": ADDRESS},
    ], provenance, DESK_AGENT)

    (first_id, first_outcomes), (second_id, _) = created
    assert {key: outcome.status for key, outcome in first_outcomes.items()} == {
        "family_name": "updated", "given_names": "updated", "mobile_phone": "updated", "sex": "unchanged",
    }
    first = orm_document(first_id)
    assert first["attributes"] == {"family_name": "Wamytan", "given_names": "Élise", "mobile_phone": "+687751234"}
    assert first["provenance"]["family_name"]["level"] == 400
    assert first["provenance"]["family_name"]["author"] == {"type": "agent", "id": "agent-test"}
    assert orm_document(second_id)["attributes"]["postal_address"]["commune_insee"] == "98818"
    # The golden pointers carry the lookup keys the list filters compare against.
    found, _ = party_service.list_parties(where=["mobile_phone:+687 75 12 34"])
    assert [party.id for party in found] == [first_id]


def test_create_parties_refuses_the_whole_batch_for_one_bad_value(db_session):
    before = db_session.scalar(select(func.count()).select_from(Party))
    with pytest.raises(ValidationFailed) as refused:
        party_service.create_parties("person", [
            {"family_name": "Wamytan"},
            {"family_name": "Tein", "birth_date": "2999-01-01"},
        ], make_provenance("import", "declared"), DESK_AGENT)
    assert list(refused.value.errors) == ["1.attributes.birth_date"]
    assert db_session.scalar(select(func.count()).select_from(Party)) == before


def test_create_parties_applies_the_actors_rights(db_session):
    clerk = Actor("application", "cafat", may_write=lambda key: key != "email", max_level=300)
    (party_id, outcomes), = party_service.create_parties(
        "person", [{"family_name": "Kaloi", "email": "k@example.nc"}], make_provenance("application", "declared"), clerk
    )
    assert outcomes["email"].status == "forbidden"
    assert "email" not in orm_document(party_id)["attributes"]
    (_, outcomes), = party_service.create_parties(
        "person", [{"family_name": "Kaloi"}], make_provenance("application", "official_proof_scan_checked"), clerk
    )
    assert outcomes["family_name"].status == "forbidden"
    assert "level 400" in outcomes["family_name"].reason
