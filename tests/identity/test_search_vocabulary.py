"""The vocabulary's counts of holders, and the alias keys they give: a common name is
not looked up under its misspellings, yet a misspelling already in the hub is found by
the common form that comes after it."""

import threading

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text, update

from gru.app import SQLITE_READ_ONLY
from gru.extensions import db
from gru.identity.search import index, vocabulary
from gru.identity.search.bulk import match_many
from gru.identity.search.merge import merge
from gru.identity.search.models import PartySearchToken, SearchTerm
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_parties, update_party
from tests.factories.identity import DESK_AGENT, make_party

SUPERVISOR = Actor(type="agent", id="supervisor.test")
#: eleven persons called Jean: "jean" is the common form of "jaen", held by one (MISSPELLING_RATIO)
JEANS = [{"family_name": family, "given_names": "Jean", "sex": "M", "birth_date": f"1960-01-{day:02}"}
         for day, family in enumerate(("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand",
                                       "Dubois", "Moreau", "Laurent", "Simon"), start=1)]
DUPONT = {"family_name": "Dupont", "given_names": "Jean", "sex": "M", "birth_date": "1980-05-10"}


def _holders(*terms):
    """The counts as the transaction sees them (its own changes are applied as it commits)."""
    return vocabulary.holders_of(db.session.connection(), terms)


def test_each_term_counts_the_parties_whose_names_hold_it(db_session):
    create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
    petit = make_party(attributes={"family_name": "Petit", "given_names": "Marie Jeanne", "sex": "F"})
    db_session.flush()
    assert _holders("jean", "petit", "marie", "martin") == {"jean": 11, "petit": 2, "marie": 1, "martin": 1}

    update_party(petit.id, "*", {"family_name": "Martin"}, make_provenance("desk", "declared"), DESK_AGENT)
    update_party(petit.id, "*", {"email": "marie.martin@example.nc"}, make_provenance("desk", "declared"),
                 DESK_AGENT)  # no name changed: no count either
    db_session.flush()
    assert _holders("jean", "petit", "martin") == {"jean": 11, "petit": 1, "martin": 2}


def test_a_merged_party_leaves_the_counts(db_session):
    first = make_party(attributes=DUPONT)
    second = make_party(attributes={**DUPONT, "given_names": "Jean Marc"})
    db_session.flush()
    assert _holders("jean", "marc", "dupont") == {"jean": 2, "marc": 1, "dupont": 2}
    merge(first.id, second.id, SUPERVISOR)
    db_session.flush()
    # the survivor holds the better given names, now the second's: "jean marc"
    assert _holders("jean", "marc", "dupont") == {"jean": 1, "marc": 1, "dupont": 1}


def test_a_name_is_not_looked_up_under_its_misspellings():
    expanded = {"jean": {"jean": "exact", "jaen": "typo", "joan": "typo"}, "jaen": {"jaen": "exact", "jean": "typo"},
                "martin": {"martin": "exact", "martine": "typo"}, "martine": {"martine": "exact", "martin": "typo"}}
    holders = {"jean": 120, "jaen": 1, "joan": 20, "martin": 300, "martine": 150}
    assert vocabulary.toward_common(expanded, holders) == {
        "jean": {"jean": "exact", "joan": "typo"}, "jaen": {"jaen": "exact", "jean": "typo"},
        # two names of their own, one less common: looked up from both sides
        "martin": {"martin": "exact", "martine": "typo"}, "martine": {"martine": "exact", "martin": "typo"}}
    assert vocabulary.more_common(expanded, holders) == {"jaen": ("jean",)}
    # between the two ratios, a name is looked up from both sides and holds the alias keys
    holders["martine"] = 40
    assert vocabulary.toward_common(expanded, holders)["martin"] == {"martin": "exact", "martine": "typo"}
    assert vocabulary.more_common(expanded, holders) == {"jaen": ("jean",), "martine": ("martin",)}


@pytest.mark.parametrize("typo_first", [True, False])
def test_a_misspelt_given_name_is_found_in_either_order(db_session, typo_first):
    """Jean Dupont and his record misspelt "Jaen", the birth date one day off: no key
    holds both exact names and the date, only the dated pair with one name corrected."""
    create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
    db_session.flush()
    misspelt = {**DUPONT, "given_names": "Jaen", "birth_date": "1980-05-11"}
    earlier, later = (misspelt, DUPONT) if typo_first else (DUPONT, misspelt)
    party = make_party(attributes=earlier)
    db_session.flush()
    [candidates] = match_many("person", [later])
    assert [pk for pk, _comparison in candidates] == [party.pk]
    assert candidates[0][1].decision == "possible"


def test_the_alias_keys_of_a_misspelling_follow_its_name(db_session):
    create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
    party = make_party(attributes={**DUPONT, "given_names": "Jaen"})
    db_session.flush()
    assert "q:y1980:dupont:jean" in _tokens_of(party)  # an alias key
    update_party(party.id, "*", {"given_names": "Jean"}, make_provenance("desk", "declared"), DESK_AGENT)
    db_session.flush()
    tokens = _tokens_of(party)
    assert "q:y1980:dupont:jean" in tokens
    assert not any("jaen" in token for token in tokens)


def test_reindex_counts_the_holders_again(fresh_app):
    with fresh_app.app_context():
        create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
        db.session.commit()
        db.session.execute(update(SearchTerm).values(holders=99))
        db.session.commit()
        index.rebuild()
        assert _holders("jean", "martin") == {"jean": 11, "martin": 1}
        db.session.commit()
        assert _stored("jean", "martin") == {"jean": 11, "martin": 1}
        db.session.remove()


def test_the_migration_counts_a_base_indexed_before_it(fresh_app):
    with fresh_app.app_context():
        create_parties("person", JEANS + [DUPONT], make_provenance("import", "declared"), DESK_AGENT)
        db.session.commit()
        counted = _holders("jean", "martin", "dupont")
        db.session.remove()
        directory = fresh_app.extensions["migrate"].directory
        downgrade(directory=directory, revision="d7c2e5a1f9b4")
        upgrade(directory=directory)
        assert counted == {"jean": 12, "martin": 1, "dupont": 1}
        assert _holders("jean", "martin", "dupont") == counted
        db.session.remove()


def _tokens_of(party):
    return set(db.session.scalars(select(PartySearchToken.token).where(PartySearchToken.party_pk == party.pk)))


def test_the_counts_are_written_as_the_transaction_commits_and_a_rolled_back_savepoint_takes_its_own(fresh_app):
    with fresh_app.app_context():
        create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
        assert _stored("jean") == {}  # waiting for the commit
        db.session.commit()
        assert _stored("jean") == {"jean": 11}
        savepoint = db.session.begin_nested()  # as gru import --dry-run does
        make_party(attributes=DUPONT)
        db.session.flush()
        assert _holders("jean") == {"jean": 12}
        savepoint.rollback()
        db.session.commit()
        assert _stored("jean", "dupont") == {"jean": 11}
        db.session.remove()


@pytest.mark.postgres
def test_a_creation_does_not_wait_for_another_transaction_holding_the_same_name(fresh_postgres_app):
    """An import's open batch holds "jean" among its names: a front-desk creation of a
    Jean commits meanwhile (the counts' rows are locked only as a transaction commits).
    (Two transactions adding the same new term to the vocabulary do wait on each other:
    the second's key waits for the first's to commit. Here "jean" is known already.)"""
    app = fresh_postgres_app
    with app.app_context():
        create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
        db.session.commit()
        create_parties("person", JEANS, make_provenance("import", "declared"), DESK_AGENT)
        db.session.flush()  # the batch's rows written, its transaction open
        committed = threading.Event()

        def front_desk():
            with app.app_context():
                db.session.execute(text("SET lock_timeout = '5s'"))
                make_party(attributes=DUPONT)
                db.session.commit()
                committed.set()
                db.session.remove()

        desk = threading.Thread(target=front_desk)
        desk.start()
        desk.join(timeout=30)
        assert committed.is_set()
        db.session.commit()
        assert _stored("jean", "dupont") == {"jean": 23, "dupont": 1}
        db.session.remove()


def _stored(*terms):
    """The counts as committed, read on a connection of their own (a reader: on SQLite,
    it does not wait for the session's write lock)."""
    with db.engine.connect().execution_options(**{SQLITE_READ_ONLY: True}) as connection:
        return dict(connection.execute(select(SearchTerm.term, SearchTerm.holders).where(SearchTerm.term.in_(terms))).all())
