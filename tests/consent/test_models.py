"""The migration builds the consent tables exactly as the models declare them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table

from gru.extensions import db

TABLES = {"purposes", "consents", "service_contracts"}


def _table_of(difference):
    """The table an autogenerate difference is about (``modify_*`` come as lists of tuples
    naming it; the others carry a Table, or an object of a table)."""
    item = difference[0] if isinstance(difference, list) else difference
    if item[0].startswith("modify_"):
        return item[2]
    if item[0].endswith("_column"):
        return item[2]
    target = item[1]
    return target.name if isinstance(target, Table) else getattr(getattr(target, "table", None), "name", None)


def test_models_match_the_migration(app, db_session):
    context = MigrationContext.configure(db_session.connection(), opts={"compare_type": True})
    differences = [item for item in compare_metadata(context, db.metadata) if _table_of(item) in TABLES]
    assert differences == []
