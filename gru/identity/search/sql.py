"""``IN`` lists of the search index, fast on PostgreSQL.

psycopg parses every placeholder of a statement on the client: an ``IN`` list of 8,000
values costs more there than the query itself. On PostgreSQL :func:`among` sends one
array parameter (``= ANY(...)``); on SQLite it is the plain ``IN``. Both give the same
rows. (Bulk inserts, by ``COPY`` on PostgreSQL, are :func:`gru.bulk_sql.insert_rows`.)
:func:`among_bound` is the same with the values given at execution, for the statements
of a search, built once and executed many times (building a statement costs more in
SQLAlchemy than SQLite spends running it).
"""


from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from gru.extensions import db


def among(column, values):
    """``column IN values``, as one array parameter on PostgreSQL."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def among_bound(column, name, dialect_name):
    """``column IN :name``, the list given at execution (``{name: [...]}``): one array
    parameter on PostgreSQL, an expanding ``IN`` elsewhere."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def dialect_name():
    return db.session.get_bind().dialect.name


__all__ = ["among", "among_bound", "dialect_name"]
