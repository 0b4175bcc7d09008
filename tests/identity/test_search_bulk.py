"""Bulk matching (imports, the duplicate job): which existing persons a batch of records
finds, through the dated pair and name keys, the contact keys and the migrations that
add those keys to a base indexed before them."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from gru.extensions import db
from gru.identity.search.bulk import match_many
from gru.identity.search.models import PartySearchToken
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import create_parties
from tests.factories.identity import DESK_AGENT, PERSON, make_party

# on the wrong birth date alone, a namesake stays "none" (matching); with an e-mail and a
# phone in common it is worth a review
CONTACTS = {"email": "elise.wamytan@example.nc", "mobile_phone": "+687751234"}


def _found(record, parties):
    """The parties of ``parties`` that ``record`` finds, with their decision."""
    by_pk = {party.pk: name for name, party in parties.items()}
    [candidates] = match_many("person", [record])
    return {by_pk[pk]: comparison.decision for pk, comparison in candidates if pk in by_pk}


@pytest.fixture
def namesakes(db_session):
    """Élise Wamytan born 1987-03-14, her namesake born 1990-07-01 with her e-mail and
    phone, and one whose birth date the hub does not know."""
    parties = {
        "elise": make_party(attributes=PERSON),
        "namesake_with_contacts": make_party(attributes={**PERSON, "birth_date": "1990-07-01", **CONTACTS}),
        "undated": make_party(attributes={key: value for key, value in PERSON.items() if key != "birth_date"}),
    }
    db_session.flush()
    return parties


@pytest.mark.parametrize("family_name, birth_date", [
    ("Wamytan", "1987-03-15"),   # one digit of the day
    ("Wamytan", "1981-03-14"),   # one digit of the year
    ("Wamytan", "1987-00-00"),   # day and month unknown
    ("Wamitan", "1987-03-14"),   # a typo in the family name
])
def test_a_birth_date_or_a_name_with_one_error_still_finds_the_person(namesakes, family_name, birth_date):
    found = _found({**PERSON, "family_name": family_name, "birth_date": birth_date}, namesakes)
    assert found["elise"] == "match"


def test_a_married_name_alone_finds_her_by_birth_date_and_given_names(namesakes):
    found = _found({**PERSON, "family_name": "Kaouha"}, namesakes)
    assert found == {"elise": "possible"}


def test_day_and_month_swapped_still_finds_the_person(db_session):
    parties = {"noa": make_party(attributes={**PERSON, "given_names": "Noa", "birth_date": "1992-04-09"})}
    db_session.flush()
    found = _found({**PERSON, "given_names": "Noa", "birth_date": "1992-09-04"}, parties)
    assert found == {"noa": "match"}


def test_a_namesake_born_another_day_is_proposed_only_with_contacts_in_common(namesakes):
    assert "namesake_with_contacts" not in _found(PERSON, namesakes)
    found = _found({**PERSON, **CONTACTS}, namesakes)
    assert found["namesake_with_contacts"] == "possible"
    assert found["elise"] == "match"


def test_a_person_without_birth_date_finds_every_namesake_and_is_found(namesakes):
    undated = {key: value for key, value in PERSON.items() if key != "birth_date"}
    assert set(_found({**undated, **CONTACTS}, namesakes)) == {"elise", "namesake_with_contacts", "undated"}
    assert "undated" in _found(PERSON, namesakes)


def test_an_email_shared_by_a_whole_institution_brings_no_candidate(db_session):
    shared = {"email": "accueil@ccas.example.nc"}
    people = [{"family_name": f"Résident{chr(97 + number % 26)}{number}", "given_names": "Jean", "sex": "M",
               "birth_date": "1950-01-01", **shared} for number in range(21)]
    create_parties("person", people, make_provenance("import", "declared"), DESK_AGENT)
    db_session.flush()
    # a person of another name and birth date, at the same switchboard e-mail
    [candidates] = match_many("person", [{"family_name": "Martin", "given_names": "Paul", "sex": "M",
                                          "birth_date": "1960-05-05", **shared}])
    assert candidates == []


def test_the_migration_adds_the_keys_to_a_base_indexed_before_them(fresh_app):
    people = [PERSON, {**PERSON, "given_names": "Paul", "birth_date": "1990-00-00", **CONTACTS},
              {"family_name": "de la Croix", "given_names": "Jean-Pierre", "sex": "M",
               "email": "JP@Example.NC", "landline_phone": "+687261234", "mobile_phone": "+687751111"},
              {"family_name": "Kaouha", "given_names": "Régis", "birth_date": "1975-12-31"}]
    keys = ("dated_pair", "dated_name", "email", "phone")
    with fresh_app.app_context():
        create_parties("person", people, make_provenance("import", "declared"), DESK_AGENT)
        db.session.commit()
        indexed = _tokens(keys)
        assert {field for field, _token, _pk in indexed} == set(keys)
        directory = fresh_app.extensions["migrate"].directory
        downgrade(directory=directory, revision="b3f7d2a9c1e8")
        assert _tokens(keys) == set()
        upgrade(directory=directory)
        assert _tokens(keys) == indexed


def _tokens(fields):
    """The index rows of ``fields``, read in a transaction of their own (the migration
    runs on another connection)."""
    try:
        return set(db.session.execute(select(PartySearchToken.field, PartySearchToken.token, PartySearchToken.party_pk)
                                      .where(PartySearchToken.field.in_(fields))).all())
    finally:
        db.session.remove()


def test_a_key_given_twice_answers_its_holders_once(namesakes):
    from gru.identity.search.sql import select_among

    rows = db.session.execute(select_among((PartySearchToken.token, PartySearchToken.party_pk), PartySearchToken.token,
                                           ["wamytan", "wamytan", "ssn:unknown", "wamytan"])).all()
    assert len(rows) == len(set(rows))
    mine = {party.pk for party in namesakes.values()}
    assert {pk for token, pk in rows if pk in mine} == mine  # the three share the family name
