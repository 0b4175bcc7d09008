"""``load_demo_data``: the demo parties pass the validators, and load only once."""

from gru.identity.demo import load_demo_data
from gru.identity.services.links import links_of
from gru.identity.services.parties import golden_attributes, list_parties
from gru.identity.services.references import cross_references_of, identifiers_of


def all_parties(kind=None):
    parties, next_cursor = list_parties(kinds=[kind] if kind else None, limit=1000)
    assert next_cursor is None
    return parties


def current_links(party, kind, role=None):
    return [
        link
        for link in links_of(party, include_ended=False)
        if link.kind == kind and (role is None or link.role == role)
    ]


def test_households_have_one_head_each(empty_app):
    created = load_demo_data()

    assert created > 10
    assert created == len(all_parties())
    households = all_parties("household")
    assert len(households) == 4
    for household in households:
        assert len(current_links(household, "member_of", "head")) == 1
        assert 2 <= len(current_links(household, "member_of")) <= 5


def test_company_has_its_ridet_and_a_manager(empty_app):
    load_demo_data()

    [company] = all_parties("company")
    assert [(i.type, i.value) for i in identifiers_of(company)] == [("ridet", "1023456.001")]
    [manager_link] = current_links(company, "represents", "manager")
    assert manager_link.person.kind == "person"
    assert golden_attributes(company)["legal_form"] == "SARL"
    [association] = all_parties("association")
    assert [i.type for i in identifiers_of(association)] == ["rna"]
    assert len(current_links(association, "represents", "president")) == 1


def test_every_demo_party_is_cross_referenced(empty_app):
    load_demo_data()

    for party in all_parties():
        assert [x.application_code for x in cross_references_of(party)] == ["demo"]


def test_second_load_creates_nothing(empty_app):
    from gru.extensions import db

    first = load_demo_data()
    db.session.commit()
    count = len(all_parties())

    assert load_demo_data() == 0
    assert len(all_parties()) == count == first


def levels_of(party):
    return {golden.value.level for golden in party.golden if golden.value.level is not None}


def test_provenance_levels(empty_app):
    load_demo_data()

    by_level = {}
    for person in all_parties("person"):
        by_level.setdefault(frozenset(levels_of(person)), []).append(person)
    assert sorted(len(people) for people in by_level.values()) == [4, 11]
    assert frozenset({500}) in by_level and frozenset({100}) in by_level
    [company] = all_parties("company")
    # legal_form is not certifiable, so it carries the uncertified level.
    assert 400 in levels_of(company)
