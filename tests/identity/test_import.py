"""``gru import``: records of an application loaded without duplicates; a bad line is
reported with its number and changes nothing; a rerun resumes; a dry run writes nothing."""

import json

import pytest
from sqlalchemy import func, select, text

from gru.events.models import Event
from gru.extensions import db
from gru.identity.import_cli import import_command
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, Party
from gru.identity.search.models import DuplicateSuspicion
from tests.factories.auth import make_application
from tests.factories.identity import make_party

MAPPING = {"kind": "person", "local_id": "dossier", "delimiter": ";", "birth_date_format": "%d/%m/%Y",
           "columns": {"nom": "family_name", "nom_usage": "usage_name", "prenoms": "given_names",
                       "date_naissance": "birth_date", "sexe": "sex", "courriel": "email"}}
CSV = """dossier;nom;nom_usage;prenoms;date_naissance;sexe;courriel
A1;Wamitan;;Élise;14/03/1987;F;elise@example.nc
A2;Kaouha;;Régis;09/09/1979;M;
A3;Gope;;Paul;31/02/1980;M;
A4;Kaouha;;Regis;09/09/1979;M;regis@example.nc
A5;Wamytan;;Élise;15/03/1987;F;
"""


@pytest.fixture
def files(tmp_path, db_session):
    make_application("cafat")
    existing = make_party(attributes={"family_name": "Wamytan", "given_names": "Élise Marie",
                                      "birth_date": "1987-03-14", "sex": "F"}, process="original_document_checked")
    db_session.flush()
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    (tmp_path / "dossiers.csv").write_text(CSV, encoding="utf-8")
    return tmp_path, existing


def _run(app, tmp_path, *extra, name="dossiers.csv"):
    return app.test_cli_runner().invoke(import_command, [
        str(tmp_path / name), "--mapping", str(tmp_path / "mapping.json"), "--application", "cafat", *extra])


def _count(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


def test_import_creates_links_queues_and_reports_the_bad_line(app, files, db_session):
    tmp_path, existing = files
    parties_before = _count(db_session, Party)
    result = _run(app, tmp_path)
    assert result.exit_code == 1  # one line in error
    assert "line 4: birth_date:" in result.stderr
    assert "created 2 (of which 1 queued for review), linked 2" in result.stdout
    xrefs = dict(db_session.execute(select(CrossReference.local_id, CrossReference.party_pk)
                                    .where(CrossReference.application_code == "cafat")).all())
    assert xrefs["A1"] == existing.pk                      # certain match: linked, not created
    assert xrefs["A4"] == xrefs["A2"]                      # the same person twice in the file
    assert "A3" not in xrefs
    assert _count(db_session, Party) == parties_before + 2
    assert _count(db_session, DuplicateSuspicion) == 1    # A5: possible (birth date one digit off)


def test_a_rerun_skips_what_was_imported(app, files, db_session):
    tmp_path, _existing = files
    _run(app, tmp_path)
    parties = _count(db_session, Party)
    result = _run(app, tmp_path)
    assert "skipped 4 already imported" in result.stdout
    assert _count(db_session, Party) == parties


def test_a_dry_run_writes_nothing(app, files, db_session):
    tmp_path, _existing = files
    parties = _count(db_session, Party)
    values = _count(db_session, AttributeValue)
    result = _run(app, tmp_path, "--dry-run")
    assert "dry run: would have created 2 (of which 1 queued for review), linked 2 (5 values" in result.stdout
    assert _count(db_session, Party) == parties
    assert _count(db_session, CrossReference) == 0
    assert _count(db_session, AttributeValue) == values
    assert _count(db_session, DuplicateSuspicion) == 0


def test_json_lines_and_a_broken_line(app, files, db_session):
    tmp_path, _existing = files
    lines = [json.dumps({"dossier": "J1", "nom": "Tjibaou", "prenoms": "Marie", "date_naissance": "01/01/1970"}),
             "{not json", json.dumps({"dossier": "J2", "nom": "Néaoutyine", "prenoms": "Paul"})]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    result = _run(app, tmp_path, name="d.jsonl")
    assert "line 2: Not a JSON object" in result.stderr
    assert "created 2" in result.stdout


def test_a_bad_mapping_is_one_line(app, files):
    tmp_path, _existing = files
    (tmp_path / "mapping.json").write_text(json.dumps({"local_id": "dossier", "columns": {"x": "shoe_size"}}))
    result = _run(app, tmp_path)
    assert result.exit_code == 1 and "shoe_size" in result.stderr and "Traceback" not in result.stderr


def _values(db_session, party_pk, key):
    return db_session.execute(select(AttributeValue).where(AttributeValue.party_pk == party_pk,
                                                           AttributeValue.attribute_key == key)
                              .order_by(AttributeValue.pk)).scalars().all()


def _golden(db_session, party_pk):
    return dict(db_session.execute(select(GoldenValue.attribute_key, AttributeValue.value)
                                   .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk)
                                   .where(GoldenValue.party_pk == party_pk)).all())


def test_a_linked_line_records_its_values_on_the_party_by_survivorship(app, files, db_session):
    tmp_path, existing = files
    version = existing.version
    result = _run(app, tmp_path)
    # A1: its spellings of the names (kept in history) and its e-mail; A4: its given name and e-mail
    assert "linked 2 (5 values recorded on the linked parties)" in result.stdout
    db_session.expire_all()
    golden = _golden(db_session, existing.pk)
    assert golden["email"] == "elise@example.nc"          # what the application knew is kept
    assert golden["family_name"] == "Wamytan"             # the checked original outranks a declaration
    spelling = _values(db_session, existing.pk, "family_name")[-1]
    assert (spelling.value, spelling.was_golden) == ("Wamitan", False)  # kept in history
    assert len(_values(db_session, existing.pk, "birth_date")) == 1     # the same value is not stored twice
    email = _values(db_session, existing.pk, "email")[0]
    assert (email.author_type, email.author_id, email.channel, email.process) == \
        ("application", "cafat", "import", "declared")
    assert db_session.get(Party, existing.pk).version == version + 1
    event = db_session.scalars(select(Event).where(Event.party_id == existing.id, Event.type == "party.updated")).one()
    assert event.data == {"attributes": ["email"]}
    a2 = db_session.scalar(select(CrossReference.party_pk).where(CrossReference.local_id == "A2"))
    assert _golden(db_session, a2)["email"] == "regis@example.nc"  # A4, the same person later in the file


def test_the_same_person_twice_in_the_file_is_one_party_whatever_the_batches(app, files, db_session):
    tmp_path, _existing = files
    result = _run(app, tmp_path, "--batch-size", "1")
    assert "created 2 (of which 1 queued for review), linked 2" in result.stdout
    xrefs = dict(db_session.execute(select(CrossReference.local_id, CrossReference.party_pk)).all())
    assert xrefs["A4"] == xrefs["A2"]


@pytest.mark.parametrize("batch_size", ["500", "1"])
def test_a_possible_duplicate_inside_the_file_is_queued_for_review(app, files, db_session, batch_size):
    tmp_path, _existing = files
    (tmp_path / "twins.csv").write_text(
        "dossier;nom;nom_usage;prenoms;date_naissance;sexe;courriel\n"
        "T1;Tjibaou;;Marie;01/01/1970;F;\n"
        "T2;Tjibaou;;Marie;01/01/1971;F;\n"     # one digit off: possible, not certain
        "T3;Néaoutyine;;Paul;05/06/1961;M;\n", encoding="utf-8")
    dry = _run(app, tmp_path, "--dry-run", "--batch-size", batch_size, name="twins.csv")
    assert "dry run: would have created 3 (of which 1 queued for review), linked 0" in dry.stdout
    assert _count(db_session, DuplicateSuspicion) == 0
    result = _run(app, tmp_path, "--batch-size", batch_size, name="twins.csv")
    assert "created 3 (of which 1 queued for review), linked 0" in result.stdout
    xrefs = dict(db_session.execute(select(CrossReference.local_id, CrossReference.party_pk)).all())
    suspicion = db_session.scalars(select(DuplicateSuspicion)).one()
    assert {suspicion.party_a_pk, suspicion.party_b_pk} == {xrefs["T1"], xrefs["T2"]}
    assert (suspicion.origin, suspicion.decision, suspicion.status) == ("import", "possible", "open")


NEWCOMERS = [("Tjibaou", "Marie"), ("Néaoutyine", "Paul"), ("Pidjot", "Léa"), ("Ukeiwé", "Jean"),
             ("Lalié", "Sophie"), ("Naisseline", "Hugo"), ("Gorodey", "Emma"), ("Wetta", "Louis"),
             ("Trolue", "Inès"), ("Poithily", "Théo"), ("Hnawia", "Zoé"), ("Bouanou", "Jules"), ("Tidjine", "Chloé")]


def _planned_and_counted_parties(app):
    with app.app_context():
        try:
            return (db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'parties'")),
                    db.session.scalar(select(func.count()).select_from(Party)))
        finally:
            db.session.remove()


@pytest.mark.postgres
def test_an_import_analyses_the_hub_only_once_it_outgrows_its_statistics(fresh_postgres_app, tmp_path):
    """A delta of a few lines into a big hub must not re-analyse the whole hub (5 s of a
    2,000-line batch at 1,000,000 persons); an import that doubles it must, or PostgreSQL
    plans its look-ups from the statistics of a far smaller hub."""
    app = fresh_postgres_app
    with app.app_context():
        make_application("cafat")
        db.session.commit()
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))

    def import_newcomers(name, first, last):
        rows = [f"N{n};{family};;{given};0{n % 9 + 1}/0{n % 9 + 1}/19{50 + n};;"
                for n, (family, given) in enumerate(NEWCOMERS[first:last], start=first)]
        (tmp_path / name).write_text(CSV.splitlines()[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        result = _run(app, tmp_path, name=name)
        assert result.exit_code == 0, result.stderr
        assert f"created {last - first}" in result.stdout

    import_newcomers("first.csv", 0, 4)  # a hub never analysed: after its first batch
    assert _planned_and_counted_parties(app) == (4, 4)
    import_newcomers("small.csv", 4, 6)  # 2 lines into a hub of 4: its statistics hold
    assert _planned_and_counted_parties(app) == (4, 6)
    import_newcomers("large.csv", 6, 13)  # 7 lines: the hub more than doubles
    assert _planned_and_counted_parties(app) == (13, 13)
