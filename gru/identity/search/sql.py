"""``IN`` lists of the search index, fast on PostgreSQL.

psycopg parses every placeholder of a statement on the client: an ``IN`` list of 8,000
values costs more there than the query itself. On PostgreSQL :func:`among` sends one
array parameter (``= ANY(...)``); on SQLite it is the plain ``IN``. Both give the same
rows. (Bulk inserts, by ``COPY`` on PostgreSQL, are :func:`gru.bulk_sql.insert_rows`.)
:func:`among_bound` is the same with the values given at execution, for the statements
of a search, built once and executed many times (building a statement costs more in
SQLAlchemy than SQLite spends running it).
"""


from sqlalchemy import String, Text, any_, bindparam, cast, func, select
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


#: ASCII unit separator: never in a folded token, an e-mail, a phone or a number
_SEPARATOR = "\x1f"


def select_among(columns, column, values):
    """``SELECT columns ... WHERE column IN values``, for thousands of values (bulk
    matching). On PostgreSQL the values go as one text parameter, split, unnested and
    joined to the table: a nested loop of index look-ups. With ``= ANY(array)`` the
    planner, which guesses about 180 rows a value for a column as skewed as the index
    tokens ("jean" is in every tenth row, a dated key in one), chose to read the whole
    table: 1.3 s instead of 0.08 s for 20,000 keys in a 13-million-row index. (psycopg
    would also dump a list parameter item by item in Python.) Repeated values are sent
    once: a join would answer their rows once per repetition, where ``IN`` does not."""
    values = list(dict.fromkeys(values))
    if dialect_name() != "postgresql":
        return select(*columns).where(column.in_(list(values)))
    wanted = func.unnest(func.string_to_array(bindparam(None, _SEPARATOR.join(map(str, values)), type_=Text),
                                              _SEPARATOR)).table_valued("value").render_derived("wanted")
    value = wanted.c.value if isinstance(column.type, String) else cast(wanted.c.value, column.type)
    return select(*columns).join_from(wanted, column.table, column == value)


def dialect_name():
    return db.session.get_bind().dialect.name


def flushed_connection():
    """The session's connection, flushed first as ``Session.execute`` would (autoflush):
    a Core statement run on it sees the transaction's ORM changes (and the index rows
    they rewrite on flush) without going through the ORM's execution, which costs more
    than the few look-ups of a search."""
    session = db.session
    if session.autoflush:
        session.flush()
    return session.connection()


__all__ = ["among", "among_bound", "dialect_name", "flushed_connection", "select_among"]
