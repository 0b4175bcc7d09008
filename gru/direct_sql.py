"""Core statements run straight on the DBAPI cursor, for the few hottest statements.

SQLAlchemy's execution layer (execution context, result wrapping, per-row type
processing through its result object) costs 15 to 40 microseconds a statement; on
``GET /api/v1/parties/{id}`` that was more than SQLite itself spent on the read and its
journal entry. A :class:`DirectStatement` keeps SQLAlchemy for what it is good at,
building and compiling the SQL for each dialect, and runs the compiled string on the
DBAPI cursor of the caller's connection, in the caller's transaction. Parameters and
results go through the columns' own bind and result processors (the public
``TypeEngine`` API), so values are stored and read exactly as SQLAlchemy would.

Use it for a statement measured to matter, and test it against the ORM path it
replaces (``tests/identity/test_records.py`` does so for the read).
"""

from collections import namedtuple
from dataclasses import dataclass


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: parameter names in placeholder order (positional paramstyles), else None
    positions: tuple | None
    #: ``{name: (bind processor or None, default value)}``
    binds: dict
    #: one result processor (or None) per selected column
    results: tuple
    row_type: type | None


class DirectStatement:
    """A Core ``select`` or ``insert ... returning`` compiled once per dialect."""

    def __init__(self, statement, result_columns=None):
        self._statement = statement
        self._result_columns = result_columns
        self._compiled = {}

    def _compile(self, dialect) -> _Compiled:
        compiled = self._statement.compile(dialect=dialect)
        binds = {
            name: (bind.type.dialect_impl(dialect).bind_processor(dialect), bind.value)
            for name, bind in compiled.binds.items()
        }
        columns = self._result_columns
        if columns is None:
            columns = getattr(self._statement, "selected_columns", ())
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        names = [column.key for column in columns]
        row_type = namedtuple("Row", names, rename=True) if names else None
        positions = tuple(compiled.positiontup) if compiled.positional else None
        return _Compiled(compiled.string, positions, binds, results, row_type)

    def _parameters(self, compiled: _Compiled, values: dict):
        processed = {}
        for name, (processor, default) in compiled.binds.items():
            value = values.get(name, default)
            processed[name] = processor(value) if processor is not None and value is not None else value
        if compiled.positions is not None:
            return tuple(processed[name] for name in compiled.positions)
        return processed

    def execute(self, connection, values=None) -> list:
        """Run on ``connection`` (a SQLAlchemy Connection); returns the rows, processed."""
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, self._parameters(compiled, values or {}))
            if compiled.row_type is None:
                return []
            raw_rows = cursor.fetchall()
        finally:
            cursor.close()
        results = compiled.results
        if not any(results):
            return [compiled.row_type._make(row) for row in raw_rows]
        return [
            compiled.row_type._make(
                value if processor is None or value is None else processor(value)
                for processor, value in zip(results, row)
            )
            for row in raw_rows
        ]
