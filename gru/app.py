"""The application factory: the only place where the hub is wired together."""

import logging
import os

from flask import Flask, jsonify
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gru.audit.chain import chain_hash
from gru.config import load_settings
from gru.crypto import KeyRing
from gru.extensions import db, migrate
from gru.rest.content import require_json_bodies
from gru.rest.problems import ProblemApi, register_error_handlers

MIGRATIONS_DIRECTORY = os.path.join(os.path.dirname(__file__), "migrations")


def _is_sqlite(dbapi_connection):
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers run beside the writer, wait for locks.

    The driver's own transaction handling is turned off and SQLAlchemy emits BEGIN
    itself, so that SAVEPOINT and transactional DDL work (SQLAlchemy's pysqlite notes).
    ``gru_chain_hash`` is the access journal's chaining function (:mod:`gru.audit.chain`).
    """
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        dbapi_connection.create_function("gru_chain_hash", 2, chain_hash, deterministic=True)


#: execution option of a connection whose SQLite transactions only read: ``True`` starts
#: them with a plain (deferred) BEGIN, so that a long read (``gru audit verify``) never
#: holds the write lock
SQLITE_READ_ONLY = "gru_sqlite_read_only"


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection):
    """SQLite transactions take the write lock when they start (BEGIN IMMEDIATE).

    Nearly every transaction of the hub writes: a read of personal data appends to the
    access journal after reading. A deferred transaction that read first cannot take the
    write lock once another connection has written (SQLite answers "database is locked"
    at once, without waiting), so two agents reading at the same moment would fail; an
    immediate one waits its turn (``busy_timeout``). Readers are not blocked (WAL).
    Sent on the DBAPI connection: this runs once per request, and exec_driver_sql's
    execution context costs more than SQLite's BEGIN.
    """
    if connection.dialect.name == "sqlite":
        is_read_only = connection.get_execution_options().get(SQLITE_READ_ONLY, False)
        connection.connection.dbapi_connection.execute("BEGIN" if is_read_only else "BEGIN IMMEDIATE")


def _openapi_settings(app):
    app.config.update(
        API_TITLE="gru hub",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        API_SPEC_OPTIONS={
            "info": {"description": "Golden records of persons, households, associations and companies."},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )


def load_keyring(app):
    """The instance keys, once ``gru init`` has made them; None before."""
    keyring = app.extensions.get("gru.keyring")
    if keyring is None and os.path.exists(app.config["GRU_KEY_FILE"]):
        keyring = app.extensions["gru.keyring"] = KeyRing.load(app.config["GRU_KEY_FILE"])
    return keyring


def require_keyring(app):
    """The instance keys; ``ConfigurationError`` (run ``gru init``) when there are none."""
    return load_keyring(app) or KeyRing.load(app.config["GRU_KEY_FILE"])


def create_app(config=None):
    """Build the hub. ``config`` overrides the ``GRU_*`` environment settings."""
    settings = load_settings(config)
    app = Flask("gru", instance_path=settings["GRU_INSTANCE_PATH"])
    app.config.update(settings)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings["GRU_DATABASE_URL"]
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    logging.getLogger("gru").setLevel(logging.INFO)

    from gru.identity.catalogue import load_catalogue

    extra = [settings["GRU_ATTRIBUTES_FILE"]] if settings["GRU_ATTRIBUTES_FILE"] else []
    app.extensions["gru.catalogue"] = load_catalogue(extra_files=extra)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIRECTORY)

    keyring = load_keyring(app)
    app.secret_key = settings["GRU_SECRET_KEY"] or (keyring.session_secret if keyring else os.urandom(32))

    _register_models()
    _register_documents(app)
    _register_consent(app)
    _register_connectors(app)
    _register_api(app)
    _register_oauth(app)
    register_error_handlers(app)
    _register_pages(app)
    require_json_bodies(app)
    _register_commands(app)

    @app.get("/healthz")
    def health():
        return jsonify(status="ok")

    return app


def _register_models():
    """Import every package's models so that metadata and migrations see all tables."""
    import gru.audit.models  # noqa: F401
    import gru.connectors.models  # noqa: F401
    import gru.consent.models  # noqa: F401
    import gru.auth.agents  # noqa: F401
    import gru.auth.models  # noqa: F401
    import gru.documents.models  # noqa: F401
    import gru.events.models  # noqa: F401
    import gru.identity.models  # noqa: F401
    import gru.identity.search.models  # noqa: F401


def _register_documents(app):
    from gru.documents import init_app as init_documents

    init_documents(app)


def _register_consent(app):
    from gru.consent import init_app as init_consent

    init_consent(app)


def _register_connectors(app):
    from gru.connectors import init_app as init_connectors

    init_connectors(app)


def _register_api(app):
    from gru.auth.admin_api import blp as admin_blueprint
    from gru.connectors.api import blp as connectors_blueprint
    from gru.consent.admin_api import blp as purposes_blueprint
    from gru.consent.api import blp as consents_blueprint
    from gru.documents.admin_api import blp as vault_admin_blueprint
    from gru.documents.api import blp as documents_blueprint
    from gru.identity.api import blp as identity_blueprint
    from gru.identity.search.api import blp as matching_blueprint

    _openapi_settings(app)
    api = ProblemApi(app)
    api.register_blueprint(matching_blueprint)  # before /parties/<id>: /parties/search
    api.register_blueprint(identity_blueprint)
    api.register_blueprint(documents_blueprint)
    api.register_blueprint(consents_blueprint)
    api.register_blueprint(purposes_blueprint)
    api.register_blueprint(vault_admin_blueprint)
    api.register_blueprint(admin_blueprint)
    api.register_blueprint(connectors_blueprint)
    app.extensions["gru.api"] = api


def _register_oauth(app):
    from gru.auth.bearer import build_token_verifier
    from gru.auth.oauth import init_authorization_server
    from gru.auth.views import blp as oauth_blueprint

    app.register_blueprint(oauth_blueprint)
    if load_keyring(app) is not None:
        init_authorization_server(app)
        app.extensions["gru.token_verifier"] = build_token_verifier(app)


def _register_pages(app):
    from gru.web import init_app as init_pages

    init_pages(app)


def _register_commands(app):
    from gru.cli import register_commands

    register_commands(app)
