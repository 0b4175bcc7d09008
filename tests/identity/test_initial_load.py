"""``gru import --initial-load``: a hub's first file matched with itself in memory and
written in one transaction, with the outcomes of the batch import; refused where the hub
already holds parties of the kind; an interrupted load leaves the hub as it was."""

import json

import pytest
from sqlalchemy import func, select, text

from gru.audit.models import JournalEntry
from gru.events.models import Event
from gru.extensions import db
from gru.identity import initial_load
from gru.identity.import_cli import import_command
from gru.identity.importing import Importer, load_mapping
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, HistoryEntry, Party
from gru.identity.search import whole_file
from gru.identity.search.models import DuplicateSuspicion, PartySearchEntry, PartySearchToken
from gru.identity.search.service import PERSON_FIELDS, search
from tests.factories.auth import make_application
from tests.factories.identity import make_party

MAPPING = {"kind": "person", "local_id": "dossier", "delimiter": ";", "birth_date_format": "%d/%m/%Y",
           "columns": {"nom": "family_name", "prenoms": "given_names", "date_naissance": "birth_date",
                       "sexe": "sex", "courriel": "email"}}
HEADER = "dossier;nom;prenoms;date_naissance;sexe;courriel"
LINES = [
    "A1;Wamytan;Élise Marie;14/03/1987;F;elise@example.nc",
    "A2;Kaouha;Régis;09/09/1979;M;",
    "A3;Gope;Paul;31/02/1980;M;",                  # no such date: reported, nothing written
    "A4;Kaouha;Regis;09/09/1979;M;regis@example.nc",  # A2 again, without the accent
    "A5;Tjibaou;Marie;01/01/1970;F;",
    "A6;Wamitan;Élise;14/03/1987;F;",               # A1 with a typo, one given name
    "A7;Tjibaou;Marie;01/01/1971;F;",               # A5's namesake one digit off: possible only
    "A8;Kaouha;Régis;09/09/1999;M;",                # A2's namesake, twenty years younger: another person
]


@pytest.fixture
def hub(fresh_app, tmp_path):
    """An empty hub of its own (the load commits), the application and its files."""
    with fresh_app.app_context():
        make_application("cafat")
        db.session.commit()
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    (tmp_path / "dossiers.csv").write_text("\n".join([HEADER, *LINES]) + "\n", encoding="utf-8")
    return fresh_app, tmp_path


def _run(app, tmp_path, *extra, name="dossiers.csv"):
    return app.test_cli_runner().invoke(import_command, [
        str(tmp_path / name), "--mapping", str(tmp_path / "mapping.json"), "--application", "cafat", *extra])


def _golden(party_pk):
    return dict(db.session.execute(select(GoldenValue.attribute_key, AttributeValue.value)
                                   .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk)
                                   .where(GoldenValue.party_pk == party_pk)).all())


def _xrefs():
    return dict(db.session.execute(select(CrossReference.local_id, CrossReference.party_pk)).all())


SUMMARY = "created 5 (of which 2 queued for review), linked 2 (4 values recorded on the linked parties)"


def test_an_initial_load_links_queues_and_reports_as_the_batch_import_does(hub):
    app, tmp_path = hub
    batch = _run(app, tmp_path, "--dry-run")  # the batch import's account of the same file
    assert f"dry run: would have {SUMMARY}" in batch.stdout
    result = _run(app, tmp_path, "--initial-load")
    assert result.exit_code == 1, result.stderr  # one line in error
    assert "line 4: birth_date:" in result.stderr and "Traceback" not in result.stderr
    assert SUMMARY in result.stdout
    with app.app_context():
        xrefs = _xrefs()
        assert "A3" not in xrefs
        assert xrefs["A4"] == xrefs["A2"] and xrefs["A6"] == xrefs["A1"]
        assert len({xrefs[local_id] for local_id in ("A1", "A2", "A5", "A7", "A8")}) == 5
        suspicions = {frozenset((row.party_a_pk, row.party_b_pk)): row
                      for row in db.session.scalars(select(DuplicateSuspicion))}
        pair = suspicions[frozenset((xrefs["A5"], xrefs["A7"]))]
        assert (pair.decision, pair.status, pair.origin) == ("possible", "open", "import")
        # the parties are as a batch import makes them: events, golden values, searchable
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.type == "party.created")) == 5
        assert _golden(xrefs["A2"])["email"] == "regis@example.nc"  # recorded by the linked line A4
        found = search("kaouha regis", fields=PERSON_FIELDS, birth_date="1979-09-09")
        assert [hit.party_pk for hit in found][:1] == [xrefs["A2"]]


def _record_of(local_id):
    """What the hub holds of the party of ``local_id``, without its ids and times."""
    pk = _xrefs()[local_id]
    party = db.session.get(Party, pk)
    return {
        "version": party.version,
        "values": db.session.execute(select(AttributeValue.attribute_key, AttributeValue.value, AttributeValue.level,
                                            AttributeValue.was_golden)
                                     .where(AttributeValue.party_pk == pk).order_by(AttributeValue.pk)).all(),
        "golden": _golden(pk),
        "events": db.session.execute(select(Event.type, Event.sequence, Event.data)
                                     .where(Event.party_id == party.id).order_by(Event.sequence)).all(),
        "history": db.session.execute(select(HistoryEntry.subject, HistoryEntry.action, HistoryEntry.new_value)
                                      .where(HistoryEntry.party_pk == pk).order_by(HistoryEntry.pk)).all(),
        "journal": db.session.execute(select(JournalEntry.action, JournalEntry.attribute_keys)
                                      .where(JournalEntry.party_id == str(party.id)).order_by(JournalEntry.seq)).all(),
        "profile": db.session.scalar(select(PartySearchEntry.profile).where(PartySearchEntry.party_pk == pk)),
        "index": sorted(db.session.execute(select(PartySearchToken.field, PartySearchToken.token)
                                           .where(PartySearchToken.party_pk == pk)).all()),
    }


@pytest.mark.parametrize("batch_size", ["2", "500"])
def test_a_linked_line_leaves_its_party_as_the_batch_import_leaves_it(hub, other_fresh_app, batch_size):
    """The initial load records a linked line on its party before writing it; the batch
    import does it on a party of the same batch the same way, and on one of an earlier
    batch by updating it (batches of 2: A4 and A6 find A2's and A1's parties in the hub)."""
    app, tmp_path = hub
    with other_fresh_app.app_context():
        make_application("cafat")
        db.session.commit()
    assert SUMMARY in _run(other_fresh_app, tmp_path, "--batch-size", batch_size).stdout
    assert SUMMARY in _run(app, tmp_path, "--initial-load").stdout
    records = []
    for application in (other_fresh_app, app):
        with application.app_context():
            records.append({local_id: _record_of(local_id) for local_id in ("A1", "A2", "A5")})
    assert records[1] == records[0]
    regis = records[1]["A2"]
    assert regis["version"] == 2 and regis["golden"]["email"] == "regis@example.nc"
    assert [(event.type, event.data) for event in regis["events"]] == [
        ("party.created", {"kind": "person", "attributes": ["birth_date", "family_name", "given_names", "sex"]}),
        ("party.updated", {"attributes": ["email", "given_names"]})]
    assert [(value.value, value.was_golden) for value in regis["values"] if value.attribute_key == "given_names"] \
        == [("Régis", True), ("Regis", True)]  # the first spelling kept in history
    assert regis["profile"]["email"] == "regis@example.nc"  # indexed with what the linked line brought
    assert ("email", "e:regis@example.nc") in regis["index"]
    assert regis["history"] == [("xref", "added", "A4")]


def test_lines_far_apart_in_a_long_file_are_matched_across_its_steps(hub, monkeypatch):
    """The lines are checked and the parties written by steps (10,000 lines each); a
    duplicate local id or the same person in two steps is told as within one."""
    app, tmp_path = hub
    monkeypatch.setattr(initial_load, "STEP", 2)
    (tmp_path / "twice.csv").write_text("\n".join([HEADER, *LINES, "A2;Kaouha;Régis;09/09/1979;M;"]) + "\n",
                                        encoding="utf-8")
    result = _run(app, tmp_path, "--initial-load", name="twice.csv")
    assert "line 10: The local id 'A2' appears twice in the file." in result.stderr
    assert SUMMARY in result.stdout
    with app.app_context():
        xrefs = _xrefs()
        assert xrefs["A4"] == xrefs["A2"] and xrefs["A6"] == xrefs["A1"]


def test_a_load_whose_matching_is_shared_among_forks_writes_the_same_parties(hub, monkeypatch):
    """The forks inherit the command's database connection and leave it alone: the
    load goes on writing on it in the same transaction."""
    app, tmp_path = hub
    app.config["GRU_IMPORT_PROCESSES"] = 2
    monkeypatch.setattr(whole_file, "SHARED_FROM", 1)
    forks, in_forks = [], whole_file._in_forks
    monkeypatch.setattr(whole_file, "_in_forks", lambda lines, processes: forks.append(processes)
                        or in_forks(lines, processes))
    result = _run(app, tmp_path, "--initial-load")
    assert forks == [2]
    assert SUMMARY in result.stdout, result.stderr
    with app.app_context():
        xrefs = _xrefs()
        assert xrefs["A4"] == xrefs["A2"] and xrefs["A6"] == xrefs["A1"]
        assert db.session.scalar(select(func.count()).select_from(DuplicateSuspicion)) == 2


def test_a_misspelling_loaded_first_is_found_by_the_common_form_imported_after(hub):
    """"Jaen", held by one line of the initial load where "jean" is held by eleven, is
    indexed under "jean" too: the next file's Jean Dupont, born a day apart, finds it."""
    app, tmp_path = hub
    jeans = [f"J{day};{family};Jean;{day:02}/01/1960;M;" for day, family in enumerate(
        ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
         "Simon"), start=1)]
    (tmp_path / "first.csv").write_text("\n".join([HEADER, *jeans, "D1;Dupont;Jaen;11/05/1980;M;"]) + "\n")
    (tmp_path / "next.csv").write_text("\n".join([HEADER, "D2;Dupont;Jean;10/05/1980;M;"]) + "\n")
    assert _run(app, tmp_path, "--initial-load", name="first.csv").exit_code == 0
    result = _run(app, tmp_path, name="next.csv")
    assert "created 1 (of which 1 queued for review)" in result.stdout, result.stderr
    with app.app_context():
        xrefs = _xrefs()
        [suspicion] = db.session.scalars(select(DuplicateSuspicion))
        assert {suspicion.party_a_pk, suspicion.party_b_pk} == {xrefs["D1"], xrefs["D2"]}


def test_a_dry_run_initial_load_writes_nothing(hub):
    app, tmp_path = hub
    result = _run(app, tmp_path, "--initial-load", "--dry-run")
    assert f"dry run: would have {SUMMARY}" in result.stdout
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Party)) == 0
    # and the hub is still empty enough for the real load
    assert SUMMARY in _run(app, tmp_path, "--initial-load").stdout


def test_an_initial_load_is_refused_where_the_hub_holds_parties_of_its_kind(hub):
    app, tmp_path = hub
    with app.app_context():
        make_party()
        db.session.commit()
    result = _run(app, tmp_path, "--initial-load")
    assert result.exit_code == 1
    assert "holds parties of kind 'person' already" in result.stderr and "Traceback" not in result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Party)) == 1
        assert _xrefs() == {}


def test_an_initial_load_is_refused_after_a_first_file_of_the_application(hub):
    app, tmp_path = hub
    (tmp_path / "mapping.json").write_text(json.dumps({**MAPPING, "kind": "association",
                                                       "columns": {"nom": "name"}}))
    assert _run(app, tmp_path, "--initial-load").exit_code == 0  # its associations, first
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    result = _run(app, tmp_path, "--initial-load")
    assert result.exit_code == 1 and "has cross-references already" in result.stderr


def _schema(tables):
    return sorted(db.session.execute(text(
        "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(CAST(:tables AS regclass[])) UNION ALL "
        "SELECT indexdef FROM pg_indexes WHERE tablename = ANY(CAST(:names AS text[]))"),
        {"tables": tables, "names": tables}).scalars())


@pytest.mark.postgres
def test_the_indexes_and_keys_are_built_again_and_an_interrupted_load_leaves_the_hub_as_it_was(
        fresh_postgres_app, tmp_path):
    app = fresh_postgres_app
    tables = [table.name for table in initial_load.SUSPENDED]
    lines = [(number, dict(zip(HEADER.split(";"), line.split(";")))) for number, line in enumerate(LINES, start=2)]
    with app.app_context():
        make_application("cafat")
        db.session.commit()
        schema = _schema(tables)
        assert any("pk_party_search_tokens" in row for row in schema)
        mapping = load_mapping(MAPPING, app.extensions["gru.catalogue"])

        suspended = []

        def interrupted(_count):  # Ctrl-C once the first parties are written
            if db.session.scalar(text("SELECT count(*) FROM parties")):
                suspended.append(_schema(tables))
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            initial_load.load(Importer(mapping, "cafat"), lines, interrupted)
        db.session.rollback()
        assert not any("pk_party_search_tokens" in row for row in suspended[0])  # the writes ran without it
        assert db.session.scalar(select(func.count()).select_from(Party)) == 0
        assert _schema(tables) == schema

        outcomes = initial_load.load(Importer(mapping, "cafat"), lines)
        db.session.commit()
        assert [outcome for _number, outcome, _party in outcomes].count("linked") == 2
        assert _schema(tables) == schema
        # the keys hold again: a second cross-reference for a local id is refused
        with pytest.raises(Exception, match="uq_cross_references_application_code_local_id"):
            db.session.execute(text("INSERT INTO cross_references (party_pk, application_code, local_id, created_at) "
                                    "SELECT party_pk, application_code, local_id, created_at FROM cross_references "
                                    "LIMIT 1"))
        db.session.rollback()
