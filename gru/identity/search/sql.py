"""Two SQL helpers of the search index that matter for speed on PostgreSQL.

psycopg parses every placeholder of a statement on the client: an ``IN`` list of 8,000
values, or an ``executemany`` of 5,000 rows, costs more there than the query itself.
On PostgreSQL :func:`among` sends one array parameter (``= ANY(...)``) and
:func:`insert_rows` a ``COPY``; on SQLite they are the plain ``IN`` and ``executemany``.
Both give the same rows.
"""


from sqlalchemy import any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY

from gru.extensions import db


def among(column, values):
    """``column IN values``, as one array parameter on PostgreSQL."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(connection, table, rows):
    """Insert ``rows`` (dicts with the same keys) into ``table``: ``COPY`` on PostgreSQL."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([process(row[name]) if process else row[name]
                                for name, process in zip(columns, processors)])
    finally:
        cursor.close()


__all__ = ["among", "insert_rows"]
