"""Fixtures of the whole suite.

Every test that takes ``app`` runs once on SQLite and, when ``GRU_TEST_POSTGRES_URL``
is set (CI sets it), once more on PostgreSQL, in a database created for the run and
dropped at its end. The schema comes from the real Alembic migrations. Each test runs
in a transaction that is rolled back (commits inside become savepoint releases).
"""

import contextlib
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

from gru.app import create_app
from gru.crypto import generate_key_material, write_key_file
from gru.extensions import db
from tests.factories.auth import fetch_token, make_application

POSTGRES_URL = os.environ.get("GRU_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_collection_modifyitems(config, items):
    """Without ``GRU_TEST_POSTGRES_URL``, leave out (deselect, not skip) the tests marked
    ``postgres``, as the PostgreSQL backend is left out of :data:`BACKENDS`."""
    if POSTGRES_URL:
        return
    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("postgres") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def _create_postgres_database():
    """A fresh database on the server named by GRU_TEST_POSTGRES_URL; returns its URL."""
    server = make_url(POSTGRES_URL)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"gru_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.set(database=name), name, server


def _drop_postgres_database(server, name):
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_instance(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    write_key_file(str(instance / "keys.json"), generate_key_material())
    return instance


def build_app(instance, database_url, **overrides):
    from flask_migrate import upgrade

    app = create_app(
        {
            "GRU_INSTANCE_PATH": str(instance),
            "GRU_DATABASE_URL": database_url,
            "GRU_BASE_URL": "http://hub.test",
            # Contracts change inside tests; the cache has its own test.
            "GRU_CONTRACT_CACHE_SECONDS": 0,
            **overrides,
        }
    )
    app.config["TESTING"] = True
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def scratch_postgres_url():
    """A database of its own on the ``GRU_TEST_POSTGRES_URL`` server, for the tests that
    create their own tables; dropped at the end of the run."""
    url, name, server = _create_postgres_database()
    yield url.render_as_string(hide_password=False)
    _drop_postgres_database(server, name)


@contextlib.contextmanager
def _app_on_its_own_database(backend, tmp_path_factory):
    instance = make_instance(tmp_path_factory)
    if backend == "sqlite":
        url, dropped = f"sqlite:///{instance}/gru.sqlite3", None
    else:
        url, name, server = _create_postgres_database()
        url, dropped = url.render_as_string(hide_password=False), (server, name)
    application = build_app(instance, url)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        if dropped:
            _drop_postgres_database(*dropped)


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    with _app_on_its_own_database(backend, tmp_path_factory) as application:
        yield application


@pytest.fixture
def fresh_app(backend, tmp_path_factory):
    """An app on a database of its own, migrated to the head, for the tests that commit
    or migrate (the shared ``app`` rolls each test back)."""
    with _app_on_its_own_database(backend, tmp_path_factory) as application:
        yield application


@pytest.fixture
def other_fresh_app(backend, tmp_path_factory):
    """A second :func:`fresh_app`, for a test comparing what two ways of doing one thing
    leave in a hub."""
    with _app_on_its_own_database(backend, tmp_path_factory) as application:
        yield application


@pytest.fixture
def fresh_postgres_app(tmp_path_factory):
    """:func:`fresh_app` on PostgreSQL only, for the tests marked ``postgres``."""
    with _app_on_its_own_database("postgresql", tmp_path_factory) as application:
        yield application


@pytest.fixture
def empty_app(tmp_path):
    """An app of its own on a new SQLite file, its tables created and its context pushed:
    for the loaders that commit (``gru demo``)."""
    application = create_app({"GRU_INSTANCE_PATH": str(tmp_path), "GRU_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """The test's database session, inside a transaction rolled back at the end."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own ignores ``bind`` and
        # would reach past the test's transaction to the engine.
        session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        db.session = session
        try:
            yield session
        finally:
            session.remove()
            transaction.rollback()
            connection.close()
            db.session = original


@pytest.fixture
def client(app, db_session):
    return app.test_client()

@pytest.fixture
def application(db_session):
    """A registered application with every scope, and its secret."""
    return make_application("portail")


@pytest.fixture
def headers(client, application):
    """Authorization headers carrying a real token from /oauth/token."""
    token = fetch_token(client, *application)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def create_person(client, headers):
    def create(attributes=None, process="original_document_checked", channel="desk"):
        body = {
            "kind": "person",
            "attributes": attributes
            or {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"},
            "channel": channel,
            "process": process,
        }
        response = client.post("/api/v1/parties", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response

    return create
