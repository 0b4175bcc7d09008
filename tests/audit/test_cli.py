"""The journal's edges on a real instance made by ``gru init``: ``gru audit`` and the worker.

Entries are recorded through :func:`record_access` and committed, as a request would; the
journal is then tampered with raw SQL, as a database administrator would.
"""

import json
import logging
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gru.app import create_app
from gru.audit.journal import record_access
from gru.audit.models import JournalSeal
from gru.cli import cli
from gru.extensions import db
from gru.worker import build_scheduler, seal_journal_job
from tests.conftest import POSTGRES_URL

from .conftest import entry_factory


class Instance:
    """A hub instance: ``gru(...)`` runs a command on it, ``app`` is the same hub in-process."""

    def __init__(self, path, database_url):
        self.settings = {
            "GRU_INSTANCE_PATH": str(path),
            "GRU_DATABASE_URL": database_url,
            "GRU_KEY_FILE": str(path / "keys.json"),
        }
        self._app = None

    def gru(self, *args):
        return CliRunner().invoke(cli, list(args), env=self.settings, catch_exceptions=False)

    @property
    def app(self):
        if self._app is None:
            self._app = create_app(self.settings)
        return self._app

    def record(self, count, start=0):
        with self.app.app_context():
            for i in range(start, start + count):
                record_access(db.session, **entry_factory(i))
            db.session.commit()

    def sql(self, statement):
        with self.app.app_context():
            db.session.execute(text(statement))
            db.session.commit()

    def seals(self):
        with self.app.app_context():
            return db.session.execute(select(func.count()).select_from(JournalSeal)).scalar()

    def close(self):
        if self._app is not None:
            with self._app.app_context():
                db.engine.dispose()


@pytest.fixture
def instance(tmp_path):
    hub = Instance(tmp_path / "instance", f"sqlite:///{tmp_path / 'gru.sqlite3'}")
    result = hub.gru("init")
    assert result.exit_code == 0, result.output
    yield hub
    hub.close()


# -- gru audit ----------------------------------------------------------------------------


def test_seal_verify_then_a_modified_entry_is_named(instance):
    instance.record(5)
    sealed = instance.gru("audit", "seal")
    assert (sealed.exit_code, sealed.stdout) == (0, "journal: sealed up to entry 5 (seal 1)\n")
    verified = instance.gru("audit", "verify")
    assert (verified.exit_code, verified.stdout) == (0, "journal: 5 entries and 1 seals verified\n")

    instance.sql("UPDATE journal_entries SET purpose = 'x' WHERE seq = 2")
    verified = instance.gru("audit", "verify")

    assert verified.exit_code == 1
    assert (verified.stdout, verified.stderr) == ("", "journal: entry 2 was modified\n")


def test_a_cut_tail_after_a_seal_is_named(instance):
    instance.record(5)
    assert instance.gru("audit", "seal").exit_code == 0
    instance.sql("DELETE FROM journal_entries WHERE seq > 3")

    verified = instance.gru("audit", "verify")

    assert verified.exit_code == 1
    assert verified.stderr == "journal: the journal ends at 3 but seal 1 covers up to 5 (tail cut)\n"


def test_seals_kept_outside_catch_a_tail_cut_with_its_seals(instance, tmp_path):
    instance.record(3)
    instance.gru("audit", "seal")
    instance.record(2, start=3)
    instance.gru("audit", "seal")
    kept = tmp_path / "seals.jsonl"
    exported = instance.gru("audit", "export-seals", "--output", str(kept))
    assert (exported.exit_code, exported.stdout) == (0, f"journal: 2 seals written to {kept}\n")
    # Cut the tail and every trace of it in the database: entries, seals, head.
    instance.sql("DELETE FROM journal_seals")
    instance.sql("DELETE FROM journal_entries WHERE seq > 3")
    with instance.app.app_context():
        last_hash = db.session.execute(
            text("SELECT entry_hash FROM journal_entries WHERE seq = 3")).scalar()
    instance.sql(f"UPDATE journal_head SET last_seq = 3, last_hash = '{last_hash}'")
    assert instance.gru("audit", "verify").exit_code == 0

    verified = instance.gru("audit", "verify", "--seals", str(kept))

    assert verified.exit_code == 1
    assert verified.stderr == "journal: the journal ends at 3 but seal 2 covers up to 5 (tail cut)\n"


def test_nothing_new_to_seal(instance):
    assert instance.gru("audit", "seal").stdout == "journal: nothing new to seal\n"
    instance.record(2)
    assert instance.gru("audit", "seal").stdout == "journal: sealed up to entry 2 (seal 1)\n"
    assert instance.gru("audit", "seal").stdout == "journal: nothing new to seal\n"
    assert instance.seals() == 1


def test_export_seals_prints_json_lines(instance):
    assert instance.gru("audit", "export-seals").stdout == ""
    instance.record(3)
    instance.gru("audit", "seal")
    instance.record(4, start=3)
    instance.gru("audit", "seal")

    exported = instance.gru("audit", "export-seals")

    assert exported.exit_code == 0
    seals = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(seal["id"], seal["last_seq"], seal["entry_count"]) for seal in seals] == [
        (1, 3, 3), (2, 7, 7)]
    assert set(seals[0]) == {"id", "sealed_at", "last_seq", "last_hash", "entry_count",
                             "key_id", "signature"}


@pytest.mark.parametrize("setup, args, message", [
    ("DELETE FROM journal_entries WHERE seq = 2", ("audit", "seal"),
     "error: refusing to seal: the journal head records 3 entries but the journal holds 2, "
     "the last being 3"),
    ("DROP TABLE journal_seals", ("audit", "verify"), "error: database: no such table: journal_seals"),
    (None, ("audit", "verify", "--seals", "missing.jsonl"), "error: missing.jsonl: No such file or directory"),
])
def test_errors_are_one_line(instance, setup, args, message):
    instance.record(3)
    if setup:
        instance.sql(setup)
    result = instance.gru(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message + "\n")


def test_a_seals_file_that_is_not_seals_is_one_line(instance, tmp_path):
    garbage = tmp_path / "seals.jsonl"
    garbage.write_text('{"id": 1}\n')
    result = instance.gru("audit", "verify", "--seals", str(garbage))
    assert result.exit_code == 1
    assert result.stderr == (f"error: {garbage}: line 1 is not a seal exported by "
                             "`gru audit export-seals`\n")


def test_without_keys_is_one_line(tmp_path):
    hub = Instance(tmp_path, f"sqlite:///{tmp_path / 'gru.sqlite3'}")
    result = hub.gru("audit", "verify")
    assert result.exit_code == 1
    assert result.stderr == f"error: no key file at {tmp_path / 'keys.json'}: run `gru init` first\n"


# -- the worker ---------------------------------------------------------------------------


@pytest.fixture
def worker_log(caplog, monkeypatch):
    """The worker's log records. Alembic's ``fileConfig`` (run in-process by ``gru init``)
    disables the loggers that exist at that time; the worker process never migrates."""
    monkeypatch.setattr(logging.getLogger("gru.worker"), "disabled", False)
    caplog.set_level(logging.INFO, logger="gru.worker")
    return caplog


def test_worker_job_seals_and_logs_one_line(instance, worker_log):
    instance.record(3)

    seal_journal_job(instance.app)
    seal_journal_job(instance.app)

    assert instance.seals() == 1
    assert [record.getMessage() for record in worker_log.records] == [
        "journal seal: sealed up to entry 3 (seal 1)", "journal seal: nothing new to seal"]
    assert instance.gru("audit", "verify").stdout == "journal: 3 entries and 1 seals verified\n"


def test_a_failing_worker_run_is_logged_and_does_not_raise(instance, worker_log):
    instance.record(3)
    instance.sql("DELETE FROM journal_entries WHERE seq = 2")

    seal_journal_job(instance.app)  # does not raise

    (record,) = worker_log.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("journal seal failed: RuntimeError: refusing to seal")
    assert instance.seals() == 0
    instance.record(1, start=3)  # the session was rolled back: the hub goes on


def test_build_scheduler_runs_the_seal_job(instance):
    from apscheduler.schedulers.background import BackgroundScheduler

    instance.record(2)
    instance.app.config["GRU_JOURNAL_SEAL_INTERVAL"] = 120
    scheduler = build_scheduler(instance.app, BackgroundScheduler(timezone="UTC"))
    job = scheduler.get_job("journal-seal")
    assert job.trigger.interval.total_seconds() == 120

    scheduler.start()  # the first run is due at once
    try:
        deadline = time.monotonic() + 10
        while instance.seals() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
    assert instance.seals() == 1


def test_build_scheduler_refuses_a_bad_interval(instance):
    from apscheduler.schedulers.background import BackgroundScheduler

    from gru.errors import ConfigurationError

    instance.app.config["GRU_JOURNAL_SEAL_INTERVAL"] = 0
    with pytest.raises(ConfigurationError, match="GRU_JOURNAL_SEAL_INTERVAL"):
        build_scheduler(instance.app, BackgroundScheduler())


# -- PostgreSQL: the real migration installs the append-only triggers ---------------------


@pytest.fixture
def pg_instance(tmp_path):
    from tests.conftest import _create_postgres_database, _drop_postgres_database

    url, name, server = _create_postgres_database()
    hub = Instance(tmp_path, url.render_as_string(hide_password=False))
    try:
        result = hub.gru("init")
        assert result.exit_code == 0, result.output
        yield hub
    finally:
        hub.close()
        _drop_postgres_database(server, name)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE journal_entries SET purpose = 'x' WHERE seq = 2",
    "DELETE FROM journal_entries WHERE seq = 3",
    "TRUNCATE journal_entries",
])
def test_postgres_migration_makes_the_journal_append_only(pg_instance, statement):
    assert POSTGRES_URL
    pg_instance.record(3)
    with pytest.raises(DBAPIError, match="append-only"):
        pg_instance.sql(statement)
    assert pg_instance.gru("audit", "seal").exit_code == 0
    verified = pg_instance.gru("audit", "verify")
    assert (verified.exit_code, verified.stdout) == (0, "journal: 3 entries and 1 seals verified\n")
