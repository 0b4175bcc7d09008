"""Matching: "do you know this person?", and the duplicate check of a creation.

A false merge is worse than a missed duplicate: namesakes with different birth dates
are never a match."""

import pytest

from gru.identity import matching
from gru.identity.search.index import profile_of, tokens_of
from tests.factories.auth import fetch_token, make_application
from tests.factories.identity import make_party

ELISE = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F",
         "birth_place": "98818"}


def _compare(left, right):
    return matching.compare_persons(profile_of("person", left), profile_of("person", right))


@pytest.mark.parametrize("variant, decision", [
    ({}, "match"),
    ({"family_name": "Wamitan"}, "match"),                                   # one typo
    ({"given_names": "Elise"}, "match"),                                     # first given name only, no accent
    ({"family_name": "Élise Marie", "given_names": "Wamytan"}, "match"),      # swapped fields
    ({"birth_date": "1987-03-15"}, "match"),                 # one digit off, all else the same, same birth place
    ({"birth_date": "1987-03-15", "birth_place": "98805"}, "possible"),      # ... born elsewhere: review
    ({"birth_date": "1987-03-15", "given_names": "Élise"}, "possible"),     # ... one given name only
    ({"birth_date": "1987-03-00"}, "match"),                                 # unknown day
    ({"birth_date": "1990-07-01"}, "none"),                                  # namesake
    ({"birth_date": "1990-07-01", "birth_place": None}, "none"),
    ({"given_names": "Paul", "sex": "M"}, "none"),                           # a brother
    ({"family_name": "Kaouha", "given_names": "Régis"}, "none"),
])
def test_decisions(variant, decision):
    other = {key: value for key, value in {**ELISE, **variant}.items() if value is not None}
    assert _compare(ELISE, other).decision == decision


def test_day_and_month_swapped_is_a_typo_not_a_namesake():
    assert matching.compare_birth_dates("1987-03-04", "1987-04-03") == "typo"
    assert matching.compare_birth_dates("1987-00-00", "1987-04-03") == "compatible"
    assert matching.compare_birth_dates("1987-03-04", "1991-08-23") == "different"


def test_a_maiden_name_matches_the_usage_name():
    married = {**ELISE, "family_name": "Wamytan", "usage_name": "Gope"}
    assert _compare({**ELISE, "family_name": "Gope"}, married).decision in ("match", "possible")
    assert _compare({**ELISE, "family_name": "Wamytan épouse Gope"}, married).decision == "match"


def test_the_explanation_is_per_field():
    comparison = _compare(ELISE, {**ELISE, "family_name": "Wamitan"})
    assert comparison.explanation["family_name"]["agreement"] == "similar"
    assert comparison.explanation["birth_date"]["agreement"] == "exact"
    assert 0 < comparison.score < 1


HOME = {"lines": ["12 rue Jules Ferry"], "postal_code": "98800", "commune_insee": "98818", "country": "NC"}
SOPHIE = {"family_name": "Martin", "given_names": "Sophie", "birth_date": "1975-06-30",
          "social_security_number": "0927576", "postal_address": HOME}


def test_social_security_number_levels():
    assert matching.compare_social_security_numbers("1234567", "1234567") == "exact"
    assert matching.compare_social_security_numbers("1234567", "1234576") == "typo"   # two digits swapped
    assert matching.compare_social_security_numbers("1234567", "1234967") == "typo"   # one digit off
    assert matching.compare_social_security_numbers("1234567", "7654321") == "different"
    assert matching.compare_social_security_numbers("1234567", "185057800608491") == "missing"  # other scheme


def test_the_same_number_makes_a_match_despite_a_missing_or_replaced_family_name():
    without_family = {key: value for key, value in SOPHIE.items() if key != "family_name"}
    assert _compare(SOPHIE, without_family).decision == "match"
    assert _compare(SOPHIE, {**SOPHIE, "family_name": "Dupont"}).decision == "match"   # a married name
    unnumbered = {key: value for key, value in SOPHIE.items() if key != "social_security_number"}
    assert _compare(SOPHIE, {**unnumbered, "family_name": "Dupont"}).decision == "possible"  # no number: review
    assert _compare(SOPHIE, {**SOPHIE, "family_name": "Dupont", "social_security_number": "5185238"}
                    ).decision == "none"                                                  # another number
    other_number = _compare(SOPHIE, {**SOPHIE, "social_security_number": "7131335"})
    assert other_number.explanation["social_security_number"] == {"agreement": "different", "weight": -4.0}
    assert other_number.weight < _compare(SOPHIE, SOPHIE).weight - 10


def test_namesakes_and_twins_are_never_a_match_even_with_one_number_and_one_home():
    namesake = _compare(SOPHIE, {**SOPHIE, "birth_date": "2003-02-11"})                  # a child on her card
    assert namesake.decision != "match"
    twin = _compare(SOPHIE, {**SOPHIE, "given_names": "Nathalie"})
    assert twin.decision != "match"
    unnamed = {key: value for key, value in SOPHIE.items() if key != "given_names"}  # a twin filed without given names
    assert _compare(SOPHIE, unnamed).decision == "possible"
    child = _compare(SOPHIE, {**SOPHIE, "given_names": "Léa", "birth_date": "2003-02-11"})
    assert child.explanation["social_security_number"]["agreement"] == "shared"           # a household's number
    assert child.explanation["postal_address"] == {"agreement": "household", "weight": 0.0}
    assert child.decision == "none"


@pytest.mark.parametrize("address, level", [
    (HOME, "exact"),
    ({**HOME, "lines": ["12 r. Jules Fery"]}, "exact"),                     # street typed otherwise
    ({**HOME, "lines": ["14 rue Jules Ferry"]}, "similar"),                 # another number
    ({**HOME, "lines": ["3 avenue Foch"]}, "locality"),                     # same town
    ({"lines": ["3 avenue Foch"], "postal_code": "98890", "commune_insee": "98821", "country": "NC"}, "different"),
])
def test_address_levels(address, level):
    comparison = _compare(SOPHIE, {**SOPHIE, "postal_address": address})
    assert comparison.explanation["postal_address"]["agreement"] == level


def test_a_move_is_weak_evidence_against_and_does_not_prevent_a_match():
    moved = {**ELISE, "postal_address": HOME}
    elsewhere = {**ELISE, "postal_address": {"lines": ["3 avenue Foch"], "postal_code": "98890",
                                             "commune_insee": "98821", "country": "NC"}}
    comparison = _compare(moved, elsewhere)
    assert comparison.explanation["postal_address"]["weight"] < 0
    assert comparison.decision == "match"


def test_a_missing_name_is_not_taken_for_swapped_names():
    left = {"family_name": "Julius", "birth_date": "1963-05-21"}
    comparison = _compare(left, {"family_name": "Stephenson", "birth_date": "1963-05-21"})
    assert comparison.explanation["family_name"]["agreement"] == "different"
    assert "swapped_names" not in comparison.explanation


def test_the_number_and_the_home_are_blocking_keys():
    tokens = dict(tokens_of("person", profile_of("person", SOPHIE)))
    assert tokens["ssn"] == "ssn:0927576"
    assert tokens["address"] == "a:98800:12:jul"  # the street's kind left out
    no_number = {**HOME, "lines": ["Lot Les Cocotiers"]}
    assert "address" not in dict(tokens_of("person", profile_of("person", {**SOPHIE, "postal_address": no_number})))


def test_organisations_match_by_identifier_first():
    left = profile_of("company", {"legal_name": "SARL Dumbéa Froid", "ridet": "1234567.001"})
    assert matching.compare_organisations(left, profile_of("company", {"legal_name": "Froid Services", "ridet": "1234567.002"})).decision == "match"
    assert matching.compare_organisations(left, profile_of("company", {"legal_name": "Dumbéa Froid", "ridet": "7654321"})).decision == "none"
    assert matching.compare_organisations(left, profile_of("company", {"legal_name": "Dumbea Froid SAS"})).decision == "possible"


def test_two_households_of_one_building_are_not_alike_for_the_word_foyer():
    address = {"lines": ["12 rue Jules Ferry"], "postal_code": "98800", "commune_insee": "98818", "country": "NC"}
    tein = profile_of("household", {"name": "Foyer Tein", "postal_address": address})
    assert matching.compare_organisations(tein, profile_of("household", {"name": "Foyer Martin", "postal_address": address})).decision == "none"
    assert matching.compare_organisations(tein, profile_of("household", {"name": "Famille Tein", "postal_address": address})).decision != "none"


@pytest.fixture
def elise(db_session):
    party = make_party(attributes=ELISE)
    make_party(attributes={**ELISE, "birth_date": "1990-07-01", "given_names": "Élise"})  # namesake
    db_session.flush()
    return party


def test_match_api_answers_candidates_with_decision_and_explanation(client, headers, elise):
    response = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "person", "attributes": {"family_name": "WAMITAN", "given_names": "Elise", "birth_date": "1987-03-14"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["decision"] == "match"
    assert body["candidates"][0]["party"]["id"] == str(elise.id)
    assert [item["decision"] for item in body["candidates"]] == ["match"]  # the namesake is not a candidate
    assert body["candidates"][0]["explanation"]["family_name"]["agreement"] == "similar"


def test_match_api_refuses_invalid_values(client, headers, elise):
    response = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "person", "attributes": {"birth_date": "1987-13-45"}})
    assert response.status_code == 422


def _create(client, headers, attributes, **options):
    return client.post("/api/v1/parties", headers=headers, json={
        "kind": "person", "attributes": attributes, "channel": "desk", "process": "declared", **options})


def test_a_certain_match_is_refused_with_409_naming_the_party(client, headers, elise):
    response = _create(client, headers, {**ELISE, "family_name": "Wamitan"}, duplicate_check="match")
    assert response.status_code == 409
    assert response.get_json()["existing_party_id"] == str(elise.id)


def test_check_only_creates_nothing(client, headers, elise):
    response = _create(client, headers, ELISE, duplicate_check="check_only")
    assert response.status_code == 200
    assert response.get_json()["created"] is False
    assert response.get_json()["candidates"][0]["party"]["id"] == str(elise.id)
    assert client.get("/api/v1/parties", headers=headers, query_string={"where": "family_name:Wamytan"}).get_json()["items"].__len__() == 2


def test_a_possible_duplicate_is_created_and_queued_or_refused(client, headers, elise):
    possible = {**ELISE, "birth_date": "1987-03-15", "given_names": "Élise"}
    assert _create(client, headers, possible, duplicate_check="match", on_possible="refuse").status_code == 409
    response = _create(client, headers, possible, duplicate_check="match")
    assert response.status_code == 201
    queued = client.get("/api/v1/duplicates", headers=headers).get_json()["items"]
    assert any({party["id"] for party in item["parties"]} == {str(elise.id), response.get_json()["party"]["id"]}
               for item in queued)


def test_match_shows_and_explains_only_what_the_contract_reads(client, elise):
    application, secret = make_application(contract={"purposes": ["test"], "attributes": {
        "family_name": ["read", "search"], "given_names": ["search"], "birth_date": ["search"]}})
    headers = {"Authorization": f"Bearer {fetch_token(client, application, secret)}"}
    response = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "person", "attributes": {"family_name": "Wamytan", "given_names": "Elise", "birth_date": "1987-03-14"}})
    candidate = response.get_json()["candidates"][0]
    assert candidate["party"]["attributes"] == {"family_name": "Wamytan"}
    assert set(candidate["explanation"]) == {"family_name"}
    forbidden = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "person", "attributes": {"family_name": "Wamytan", "sex": "F"}})
    assert forbidden.status_code == 403


def test_an_organisation_is_matched_by_its_siret_first(client, headers, db_session):
    company = make_party("company", {"legal_name": "SARL Dumbéa Froid", "siret": "73282932000074"})
    make_party("company", {"legal_name": "Dumbéa Froid Services"})
    db_session.flush()
    response = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "company", "attributes": {"siret": "732 829 320 00074"}})
    body = response.get_json()
    assert body["decision"] == "match" and body["candidates"][0]["party"]["id"] == str(company.id)
    by_name = client.post("/api/v1/parties/match", headers=headers, json={
        "kind": "company", "attributes": {"legal_name": "Dumbea Froid SAS"}}).get_json()
    assert by_name["candidates"][0]["party"]["id"] == str(company.id)
    assert by_name["candidates"][0]["decision"] == "possible"
