"""Fixtures for the access journal: a tiny Flask app with only the journal's tables.

Runs on SQLite (a file in ``tmp_path``) and, when ``GRU_TEST_POSTGRES_URL`` is set, on
PostgreSQL (in the run's scratch database), with the journal's triggers installed. Tests commit (tampering, concurrency), so each test gets
freshly created tables instead of a rolled-back transaction.
"""

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import text

from gru.audit.journal import JoseSigner, record_accesses
from gru.audit.models import JournalEntry, JournalHead, JournalSeal
from gru.audit.triggers import drop_head_trigger, install_append_only_trigger, install_head_trigger
from gru.extensions import db
from tests.conftest import BACKENDS

AUDIT_TABLES = [JournalEntry.__table__, JournalHead.__table__, JournalSeal.__table__]


@contextmanager
def journal_app(url):
    """An app bound to ``url`` with empty journal tables (and triggers on PostgreSQL)."""
    app = Flask(__name__)
    app.config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=url)
    db.init_app(app)
    with app.app_context():
        db.metadata.drop_all(db.engine, tables=AUDIT_TABLES)
        db.metadata.create_all(db.engine, tables=AUDIT_TABLES)
        with db.engine.begin() as connection:
            install_append_only_trigger(connection)
            install_head_trigger(connection)
        try:
            yield app
        finally:
            db.session.remove()
            db.metadata.drop_all(db.engine, tables=AUDIT_TABLES)
            db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def audit_app(request, tmp_path):
    """The journal app on SQLite and, with ``GRU_TEST_POSTGRES_URL``, on PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("scratch_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'journal.db'}"
    with journal_app(url) as app:
        yield app


@pytest.fixture
def pg_app(scratch_postgres_url):
    """The journal app on PostgreSQL; its tests are marked ``postgres`` (deselected without it)."""
    with journal_app(scratch_postgres_url) as app:
        yield app


@pytest.fixture
def session(audit_app):
    return db.session


@pytest.fixture(scope="session")
def signing_jwk():
    return RSAKey.generate_key(2048, parameters={"kid": "seal-test-1"}).as_dict(private=True)


@pytest.fixture
def signer(signing_jwk):
    return JoseSigner(signing_jwk)


@pytest.fixture
def public_keys(signer):
    return signer.public_keys()


ACTIONS = ("identity:party:read", "identity:party:search", "identity:party:update",
           "documents:document:download")
START_AT = datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=timezone.utc)


def entry_factory(i: int) -> dict:
    """The ``i``-th journal entry of a test journal: varied, with ``None`` and ``""`` fields."""
    return {
        "actor_type": "agent" if i % 3 == 0 else "application",
        "actor_id": f"actor-{i % 7}",
        "on_behalf_of": None if i % 2 else f"agent-{i % 5}",
        "party_id": str(uuid.UUID(int=i + 1)),
        "action": ACTIONS[i % len(ACTIONS)],
        "attribute_keys": ["family_name", "birth_date", "given_names"][: 1 + i % 3],
        "purpose": "social-aid" if i % 2 else "civil-status",
        "case_ref": "" if i % 4 == 0 else (None if i % 4 == 1 else f"CASE-{i}"),
        "request_id": f"req-{i // 3}",
        "client_address": "192.0.2.10" if i % 2 else None,
        "at": START_AT + timedelta(seconds=i, microseconds=i),
    }


@pytest.fixture
def make_entries(session):
    """``make_entries(n)`` appends ``n`` entries (in batches of up to 7) and commits."""

    def make(n: int, start: int = 0):
        i = start
        while i < start + n:
            batch = [entry_factory(j) for j in range(i, min(i + 1 + i % 7, start + n))]
            record_accesses(session, batch)
            i += len(batch)
        session.commit()

    return make


@pytest.fixture
def tamper(session):
    """``tamper(statement)`` runs SQL as an administrator would, bypassing the triggers.

    PostgreSQL: ``session_replication_role = replica`` turns every trigger off for the
    transaction. SQLite has no such switch: the head trigger is dropped for the
    statement and put back in the same transaction, so that on both databases a row
    written behind the hub's back leaves the head where it was.
    """

    def run(statement, **params):
        connection = session.connection()
        is_sqlite = connection.dialect.name == "sqlite"
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        if is_sqlite:
            drop_head_trigger(connection)
        if isinstance(statement, str):
            statement = text(statement)
        connection.execute(statement, params)
        if is_sqlite:
            install_head_trigger(connection)
        session.commit()

    return run
