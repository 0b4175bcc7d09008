"""Multi-row INSERTs for bulk loads, fast on both databases.

SQLAlchemy's "insertmanyvalues" sends ``INSERT ... VALUES (...), (...) RETURNING pk`` in
pages of 1,000 rows. SQLite takes that well. With psycopg, every page is a new, long
statement that psycopg parses in Python to place its parameters (measured: about 2.4 us a
parameter, 70 % of the time of a bulk creation of persons), and even ``executemany``
costs about 10 us a row in its pipeline. On PostgreSQL the keys are therefore taken from
the table's sequence in one query and the rows sent with ``COPY ... FROM STDIN``, each
value converted first by its column type's own bind processor, as SQLAlchemy would.
"""

import contextlib
import datetime
import decimal
import json
import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.sql import sqltypes


def insert_rows(connection, table, rows):
    """Insert ``rows`` (dicts with the same keys) into ``table``, in the caller's transaction."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        connection.execute(insert(table), rows)


def insert_returning_pks(connection, table, rows):
    """Insert ``rows`` into ``table``; returns their new ``pk`` values, in order."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = insert(table).returning(table.c.pk, sort_by_parameter_order=True)
        return connection.execute(statement, rows).scalars().all()
    pks = connection.execute(
        select(func.nextval(func.pg_get_serial_sequence(table.name, "pk")))
        .select_from(func.generate_series(1, len(rows)))
    ).scalars().all()
    _copy(connection, table, [{**row, "pk": pk} for row, pk in zip(rows, pks)])
    return pks


def _copy(connection, table, rows):
    """``COPY table (columns) FROM STDIN`` on the session's psycopg connection.

    The rows are written in COPY's text format, formatted here column by column
    (:func:`_formatted`): psycopg's ``write_row`` finds a dumper for every value, several
    times the cost of formatting the handful of types that bind processors give. A value
    of another type sends its rows through ``write_row`` instead."""
    dialect = connection.dialect
    names = list(rows[0])
    processors = [_processor(table.c[name].type.dialect_impl(dialect), dialect) for name in names]
    quote = dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    columns = [[row[name] for row in rows] for name in names]
    columns = [column if processor is None else [None if value is None else processor(value) for value in column]
               for column, processor in zip(columns, processors)]
    formats = _text_formats()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for start in range(0, len(rows), _COPY_CHUNK):
                chunk = [column[start:start + _COPY_CHUNK] for column in columns]
                try:
                    text = "\n".join(map("\t".join, zip(*(_formatted(column, formats) for column in chunk))))
                except KeyError:
                    for values in zip(*chunk):
                        copy.write_row(values)
                    continue
                copy.write(text + "\n")
    finally:
        cursor.close()


def _processor(column_type, dialect):
    """The column type's bind processor; for JSON, its serializer alone: the processor
    wraps each value in psycopg's ``Json`` for :func:`_json` to serialise, and building
    the wrappers was a tenth of the Python time of writing a party's rows."""
    if isinstance(column_type, sqltypes.JSON):
        return dialect._json_serializer or json.dumps
    return column_type.bind_processor(dialect)


def _formatted(column, formats):
    """The COPY text of each value of ``column`` (raises KeyError for an unknown type)."""
    kinds = set(map(type, column))
    if kinds == {str}:
        joined = "".join(column)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return [value.translate(_ESCAPES) for value in column]
        return column
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind in _REPEATED:
            texts = {value: formats[kind](value) for value in set(column)}
            return list(map(texts.__getitem__, column))
        return list(map(formats[kind], column))
    return [formats[type(value)](value) for value in column]


#: types slow to format whose columns repeat a few values (a batch's rows share one time)
_REPEATED = (datetime.datetime, datetime.date)


_COPY_CHUNK = 5000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escaped(value):
    # most values need no escape, and four scans cost less than one translate
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _json(wrapper):
    text = (wrapper.dumps or json.dumps)(wrapper.obj)
    return _escaped(text if isinstance(text, str) else text.decode())


def _text_formats():
    """COPY text format of each type a bind processor may give (PostgreSQL "COPY", "File
    Formats"), JSON columns included: SQLAlchemy's psycopg dialect wraps their values in
    psycopg's ``Json``/``Jsonb`` (imported here: SQLite deployments have no psycopg)."""
    if not _TEXT:
        from psycopg.types.json import Json, Jsonb

        _TEXT.update({
            str: _escaped, int: str, float: repr, bool: lambda value: "t" if value else "f",
            type(None): lambda _: "\\N", uuid.UUID: str, datetime.datetime: str, datetime.date: str,
            decimal.Decimal: str, Json: _json, Jsonb: _json,
        })
    return _TEXT


_TEXT = {}


def analyse(connection, tables):
    """Refresh the planner's statistics of ``tables`` after a bulk load (PostgreSQL
    ``ANALYZE``, which samples a fixed number of rows whatever the table's size, and may
    run inside the caller's transaction); SQLite plans well enough without."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    connection.exec_driver_sql(f"ANALYZE {', '.join(quote(table.name) for table in tables)}")


def planned_rows(connection, table):
    """How many rows the planner's statistics give ``table`` (PostgreSQL ``reltuples``,
    from its last ``ANALYZE``); 0 when it was never analysed, and on SQLite."""
    if connection.dialect.name != "postgresql":
        return 0
    rows = connection.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(name)s)",
                                      {"name": table.name}).scalar()
    return max(0, int(rows or 0))  # -1: never analysed


@contextlib.contextmanager
def indexes_suspended(connection, tables):
    """PostgreSQL: the secondary indexes and the constraints (primary key, unique,
    foreign keys) of ``tables`` dropped for a bulk load into them, and built again at
    the end, in the caller's transaction (a failed load rolls the drop back with the
    rest). Building a btree once from sorted rows costs a fraction of updating it row
    by row, and the foreign keys are checked in one pass each; an index or key the load
    breaks fails the build, and with it the load. An index that a foreign key of
    another table relies on is kept. The tables are locked against every other
    reader and writer meanwhile (``ACCESS EXCLUSIVE``): for a hub not yet in service.
    SQLite: nothing is suspended."""
    if connection.dialect.name != "postgresql":
        yield
        return
    quote = connection.dialect.identifier_preparer.quote
    names = [table.name for table in tables]
    constraints = connection.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), conindid FROM pg_constraint "
        "WHERE conrelid = ANY(%(tables)s::regclass[]) AND contype IN ('p', 'u', 'f')", {"tables": names}).all()
    kept_indexes = set(connection.exec_driver_sql(  # relied on by a foreign key of a table not suspended
        "SELECT conindid FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY(%(tables)s::regclass[]) "
        "AND NOT conrelid = ANY(%(tables)s::regclass[])", {"tables": names}).scalars())
    indexes = connection.exec_driver_sql(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = ANY(%(tables)s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid AND conrelid = indrelid)", {"tables": names}).all()
    foreign = [row for row in constraints if row[2] == "f"]
    keys = [row for row in constraints if row[2] != "f" and row[4] not in kept_indexes]
    for table, name, *_ in foreign + keys:
        connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    yield
    # the sort of each build in memory rather than on disk, for this transaction only
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
    for table, name, _type, definition, _index in keys:
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
    for _name, definition in indexes:
        connection.exec_driver_sql(definition)
    for table, name, _type, definition, _index in foreign:
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def vacuum(engine, tables):
    """PostgreSQL: ``VACUUM (ANALYZE)`` of ``tables``, outside any transaction, after a
    bulk load was committed. Its rows were written by one transaction that the first
    reader of each would otherwise have to look up, and the visibility map it fills
    lets the search read its index alone (an index-only scan); SQLite: nothing."""
    if engine.dialect.name != "postgresql":
        return
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(quote(table.name) for table in tables)}")
