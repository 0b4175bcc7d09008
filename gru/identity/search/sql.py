"""``IN`` lists of the search index, fast on PostgreSQL.

psycopg parses every placeholder of a statement on the client: an ``IN`` list of 8,000
values costs more there than the query itself. On PostgreSQL :func:`among` sends one
array parameter (``= ANY(...)``); on SQLite it is the plain ``IN``. Both give the same
rows. (Bulk inserts, by ``COPY`` on PostgreSQL, are :func:`gru.bulk_sql.insert_rows`.)
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


__all__ = ["among"]
