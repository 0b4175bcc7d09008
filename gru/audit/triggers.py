"""Triggers of the access journal: append-only entries (PostgreSQL), a head that follows.

GDPR art. 5(1)(f) and 5(2): the access journal must be protected against alteration. A
row trigger refuses every UPDATE and DELETE, a statement trigger refuses TRUNCATE (row
triggers do not fire on it). A superuser can still disable triggers (``ALTER TABLE ...
DISABLE TRIGGER``, ``session_replication_role = replica``): the hash chain and the seals
(:mod:`gru.audit.chain`) are what catch that; these triggers stop mistakes and ordinary
roles.

The Alembic migration that creates ``journal_entries`` calls
:func:`install_append_only_trigger` on PostgreSQL only (``op.get_bind()``), and
:func:`drop_append_only_trigger` in its downgrade. SQLite has no equivalent here.

A second trigger, on both databases, moves ``journal_head`` to the last inserted entry
(:func:`install_head_trigger`, migrations ``5d8f1c2b7e43`` and ``b3f7d2a9c1e8``): once per
statement on PostgreSQL, so that a bulk append (one ``COPY`` of many entries) moves the
head once; once per row on SQLite, which has no statement triggers.
"""

from sqlalchemy import text

#: the function both triggers run; it always raises
CREATE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION gru_journal_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        RAISE EXCEPTION 'journal_entries is append-only: % of entry % refused', TG_OP, OLD.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'journal_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

CREATE_ROW_TRIGGER_SQL = """
CREATE TRIGGER journal_entries_no_update_delete
BEFORE UPDATE OR DELETE ON journal_entries
FOR EACH ROW EXECUTE FUNCTION gru_journal_reject_change()
"""

CREATE_TRUNCATE_TRIGGER_SQL = """
CREATE TRIGGER journal_entries_no_truncate
BEFORE TRUNCATE ON journal_entries
FOR EACH STATEMENT EXECUTE FUNCTION gru_journal_reject_change()
"""

DROP_SQL = (
    "DROP TRIGGER IF EXISTS journal_entries_no_truncate ON journal_entries",
    "DROP TRIGGER IF EXISTS journal_entries_no_update_delete ON journal_entries",
    "DROP FUNCTION IF EXISTS gru_journal_reject_change()",
)

#: in order: what :func:`install_append_only_trigger` executes
INSTALL_SQL = (
    CREATE_FUNCTION_SQL,
    DROP_SQL[0],
    DROP_SQL[1],
    CREATE_ROW_TRIGGER_SQL,
    CREATE_TRUNCATE_TRIGGER_SQL,
)


def install_append_only_trigger(connection) -> None:
    """Create (or re-create) the triggers; a no-op on any database but PostgreSQL.

    ``connection`` is a SQLAlchemy Connection (``op.get_bind()`` in a migration). Does not
    commit: the migration's transaction does.
    """
    if connection.dialect.name != "postgresql":
        return
    for statement in INSTALL_SQL:
        connection.execute(text(statement))


def drop_append_only_trigger(connection) -> None:
    """Remove the triggers and their function (a migration's downgrade); PostgreSQL only."""
    if connection.dialect.name != "postgresql":
        return
    for statement in DROP_SQL:
        connection.execute(text(statement))


# -- the chain head follows every insert ---------------------------------------------------

#: PostgreSQL: after each statement that added entries, the head names the last one (same
#: transaction, same lock). A head row updated once per entry would leave one dead version
#: per entry for the next update to walk past, until commit: quadratic in a bulk append.
CREATE_STATEMENT_HEAD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION gru_journal_move_head() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE journal_head SET last_seq = added.seq, last_hash = added.entry_hash
    FROM (SELECT seq, entry_hash FROM added_entries ORDER BY seq DESC LIMIT 1) AS added
    WHERE id = 1;
    RETURN NULL;
END;
$$
"""

CREATE_STATEMENT_HEAD_TRIGGER_SQL = """
CREATE TRIGGER journal_entries_move_head
AFTER INSERT ON journal_entries
REFERENCING NEW TABLE AS added_entries
FOR EACH STATEMENT EXECUTE FUNCTION gru_journal_move_head()
"""

#: PostgreSQL before ``b3f7d2a9c1e8``: after each new entry, the head names it
CREATE_HEAD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION gru_journal_move_head() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE journal_head SET last_seq = NEW.seq, last_hash = NEW.entry_hash WHERE id = 1;
    RETURN NULL;
END;
$$
"""

CREATE_HEAD_TRIGGER_SQL = {
    "postgresql": """
CREATE TRIGGER journal_entries_move_head
AFTER INSERT ON journal_entries
FOR EACH ROW EXECUTE FUNCTION gru_journal_move_head()
""",
    "sqlite": """
CREATE TRIGGER journal_entries_move_head
AFTER INSERT ON journal_entries
BEGIN
    UPDATE journal_head SET last_seq = NEW.seq, last_hash = NEW.entry_hash WHERE id = 1;
END
""",
}

DROP_HEAD_SQL = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS journal_entries_move_head ON journal_entries",
        "DROP FUNCTION IF EXISTS gru_journal_move_head()",
    ),
    "sqlite": ("DROP TRIGGER IF EXISTS journal_entries_move_head",),
}


def install_head_trigger(connection, per_row=False) -> None:
    """Make ``journal_head`` follow the inserted entries, on PostgreSQL and SQLite.

    :mod:`gru.audit.journal` then appends an entry in a single ``INSERT ... SELECT``
    that reads the head it chains onto: the head moves in the same statement, under the
    same lock. ``per_row``: the PostgreSQL trigger as it was before migration
    ``b3f7d2a9c1e8`` (its downgrade). Does not commit.
    """
    dialect = connection.dialect.name
    if dialect not in CREATE_HEAD_TRIGGER_SQL:
        raise RuntimeError(f"the access journal needs PostgreSQL or SQLite, not {dialect}")
    drop_head_trigger(connection)
    if dialect == "postgresql" and not per_row:
        connection.execute(text(CREATE_STATEMENT_HEAD_FUNCTION_SQL))
        connection.execute(text(CREATE_STATEMENT_HEAD_TRIGGER_SQL))
        return
    if dialect == "postgresql":
        connection.execute(text(CREATE_HEAD_FUNCTION_SQL))
    connection.execute(text(CREATE_HEAD_TRIGGER_SQL[dialect]))


def drop_head_trigger(connection) -> None:
    for statement in DROP_HEAD_SQL.get(connection.dialect.name, ()):
        connection.execute(text(statement))
