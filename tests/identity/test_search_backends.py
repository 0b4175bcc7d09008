"""The same search on SQLite and PostgreSQL gives the same hits, scores, reasons and order
(issue 6: "the same results on both"), on a base where common words, pair keys, typo
keys, the birth date and the fall-back on common words all take part."""

import pytest

from gru.extensions import db
from gru.identity.search import service
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import create_parties
from tests.conftest import _create_postgres_database, _drop_postgres_database, build_app, make_instance
from tests.factories.identity import DESK_AGENT

FAMILIES = ["Martin", "Wamytan", "Dupont", "de la Croix", "Nguyễn", "Kaouha", "Le Goff", "Tjibaou", "Lefèvre",
            "Martinez", "Dupond", "Wamytan-Martin"]
GIVEN = ["Élise", "Paul", "Sophie", "Jean-Pierre", "Marie", "Régis", "Thị Lan", "Noa", "Marie Claire"]
QUERIES = [
    ("Martin Sophie", None), ("Martin Sophie", "1990-02-05"), ("sophie martin", "1990-02-00"), ("Martin", None),
    ("Marie", None), ("Martin Marie", None), ("Martni Marie", "1991-01-04"), ("wamitan elise", None),
    ("Elise Wamytan", "1992-03-10"), ("Delacroix Jean-Pierre", None), ("de la croix jean pierre", "1990-04-09"),
    ("nguyen lan", None), ("Kaohua Regis", None), ("Dupont née Martin", None), ("Dupond Paul", None),
    ("Le Goff Noa", "1990-01-01"), ("legoff noa", None), ("Tjibaou Claire", None), ("Lefevre Marie-Claire", None),
    ("Wamytan Martin", None), ("Martinez Sophie", "1990-01-06"), ("Noa", None), ("Dumbea Froid", None),
    ("Froid SARL", None), ("Zzyzx Qwerty", None),
]


def _people():
    people = []
    for number in range(324):
        family, given = FAMILIES[number % len(FAMILIES)], GIVEN[number // len(FAMILIES) % len(GIVEN)]
        person = {"family_name": family, "given_names": given, "sex": "F" if number % 2 else "M",
                  "birth_date": f"199{number % 3}-{1 + number % 12:02d}-{1 + number % 11:02d}",
                  "birth_place": "98818" if number % 4 else "98805"}
        if number % 5 == 1:
            person["usage_name"] = FAMILIES[(number + 3) % len(FAMILIES)]
        people.append(person)
    return people


def _results(app, monkeypatch):
    """``{(query, birth date): [(index of the person, score, reasons)]}`` on ``app``'s base."""
    monkeypatch.setattr(service, "RARE", 20)  # "martin", "marie" (and more) are common here
    fields = [*service.PERSON_FIELDS, "name"]
    with app.app_context():
        provenance = make_provenance("import", "declared")
        ids = [party_id for party_id, _ in create_parties("person", _people(), provenance, DESK_AGENT)]
        ids += [party_id for party_id, _ in create_parties(
            "company", [{"legal_name": "SARL Dumbéa Froid"}, {"legal_name": "Froid Express"}], provenance, DESK_AGENT)]
        db.session.flush()
        index = {party.pk: ids.index(party.id) for party in service.parties_in_order(
            [pk for pk, in db.session.execute(db.text("SELECT pk FROM parties"))])}
        results = {}
        for query, birth_date in QUERIES:
            hits = service.search(query, fields=fields, birth_date=birth_date, commune="98805", limit=20)
            results[(query, birth_date)] = [(index[hit.party_pk], hit.score, hit.reasons) for hit in hits]
        db.session.rollback()
    return results


@pytest.fixture(scope="module")
def twin_apps(tmp_path_factory):
    sqlite_instance = make_instance(tmp_path_factory)
    url, name, server = _create_postgres_database()
    apps = (build_app(sqlite_instance, f"sqlite:///{sqlite_instance}/gru.sqlite3"),
            build_app(make_instance(tmp_path_factory), url.render_as_string(hide_password=False)))
    yield apps
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    _drop_postgres_database(server, name)


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_the_same_hits_in_the_same_order(twin_apps, monkeypatch):
    on_sqlite, on_postgresql = (_results(app, monkeypatch) for app in twin_apps)
    assert sum(1 for hits in on_sqlite.values() if hits) >= len(QUERIES) - 1  # only "Zzyzx Qwerty" finds nobody
    for key, hits in on_sqlite.items():
        assert on_postgresql[key] == hits, key
