"""The vocabulary of the search index: the name terms, their neighbours one edit away,
and how many parties hold each.

Every term is stored under its symmetric-deletion keys (``search_term_keys``,
:func:`gru.identity.names.deletion_keys`), so that the terms one insertion, deletion,
substitution or transposition away from a word are one indexed look-up (:func:`expand`).

The vocabulary grows with every misspelling a hub receives: after a million persons
imported, "jean" has dozens of neighbours, each held by a party or two. Bulk matching
that looked every record's name up under all its neighbours spent seconds on those keys.
So each term keeps its number of holders (``search_terms``), and the two sides of a
pair of neighbours share the work where one is a misspelling of the other, held by
:data:`MISSPELLING_RATIO` times fewer parties:

- a name is looked up under its neighbours, except those that rare
  (:func:`toward_common`): "jaen" under "jean", not "jean" under "jaen";
- a party whose name has a neighbour that many times more common is indexed under that
  neighbour too (:func:`more_common`, the alias keys of
  :func:`gru.identity.search.index.alias_tokens`): the "jaen" already in the hub is
  found by the "jean" that comes after it.

Two names of comparable standing ("martin" and "martine", "marie" and "maria") are looked
up from both sides, as before. The aliases start at a lower ratio than the lookups stop
(:data:`ALIAS_RATIO`), so every pair of neighbours is still found whichever comes first,
even when the common form has grown since the other was indexed. Measured on the hub an initial load
of 1,002,323 lines made (155,096 terms): a looked-up name has 62.5 neighbours on average,
1.04 of them kept; 20,438 names of parties get alias keys. Without the ratio (toward any
more common neighbour), 0.51 kept but 730,345 names aliased: 6 million index rows more.

The counts follow every index change, in its transaction, applied as it commits
(:func:`_apply_pending` says why). A party indexed
before the common form of its name was common gets its alias keys at its next index
change, or with ``gru search reindex``.
"""

import functools
from collections import Counter

from rapidfuzz.distance import OSA
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gru.bulk_sql import insert_rows
from gru.extensions import db
from gru.identity import names
from gru.identity.search.models import SearchTerm, SearchTermKey
from gru.identity.search.sql import among, among_bound, flushed_connection, select_among

_KEYS = SearchTermKey.__table__
_TERMS = SearchTerm.__table__
#: the temporary tables of the bulk path on PostgreSQL (not in the metadata: never created by migrations)
_SCRATCH_KEYS = Table("scratch_term_keys", MetaData(), Column("key", String(64)), Column("term", String(64)))
#: the changes to the counts a transaction made, applied when it commits (:func:`_apply_pending`)
_PENDING = Table("pending_term_holders", MetaData(), Column("term", String(64)), Column("holders", Integer))
_HAS_PENDING = "gru.search.pending_holders"
#: a neighbour held by this many times more parties than a name is its common form, the
#: name a misspelling of it, not looked up from the common form
MISSPELLING_RATIO = 10
#: the ratio from which a name gets the alias keys of a more common neighbour: below
#: :data:`MISSPELLING_RATIO`, so that a name indexed while its common form was less
#: common than it is now is still found from it. Measured on the 1,000,000 base: 3 gives
#: 22,386 aliased names, 10 gives 20,438; a batch import of 118,004 lines with 10 made
#: 8 links fewer than the full expansion (typos indexed when their common form was rare)
ALIAS_RATIO = 3
#: deletion keys of a search (a few words): one prepared statement; more, those of a batch
_FEW_KEYS = 500
#: rows above which the bulk path goes through a scratch table (``COPY``, then one statement)
_MANY_ROWS = 1000


def expand(tokens, connection=None):
    """``{token: {term: "exact" | "typo"}}``: each token and the known terms at most one
    edit away from it. ``connection``: the one to read on (the session's, flushed, by default)."""
    expanded = {token: {token: "exact"} for token in tokens}
    keys = {}
    for token in tokens:
        if len(token) >= names.MIN_FUZZY_LENGTH:
            for key in names.deletion_keys(token):
                keys.setdefault(key, set()).add(token)
    if not keys:
        return expanded
    connection = connection if connection is not None else flushed_connection()
    if len(keys) > _FEW_KEYS:  # a batch of bulk matching
        rows = connection.execute(select_among((_KEYS.c.key, _KEYS.c.term), _KEYS.c.key, sorted(keys)))
    else:
        rows = connection.execute(_terms_statement(connection.dialect.name), {"keys": sorted(keys)})
    for key, term in rows:
        for token in keys[key]:
            if term != token and OSA.distance(token, term) <= 1:
                expanded[token].setdefault(term, "typo")
    return expanded


@functools.cache
def _terms_statement(dialect):
    """The vocabulary terms under the deletion keys ``keys``."""
    return select(_KEYS.c.key, _KEYS.c.term).where(among_bound(_KEYS.c.key, "keys", dialect))


def holders_of(connection, terms):
    """``{term: number of parties holding it}`` for those of ``terms`` the vocabulary
    counts, this transaction's changes included."""
    terms, holders = sorted(set(terms)), Counter()
    pending = db.session.info.get(_HAS_PENDING)
    for start in range(0, len(terms), 20000):
        chunk = terms[start:start + 20000]
        holders.update(dict(connection.execute(select_among((_TERMS.c.term, _TERMS.c.holders), _TERMS.c.term, chunk)).all()))
        if pending:
            for term, change in connection.execute(select_among((_PENDING.c.term, _PENDING.c.holders),
                                                                _PENDING.c.term, chunk)):
                holders[term] += change
    return dict(holders)


def is_misspelling(holders, common, ratio=MISSPELLING_RATIO):
    """A name held by ``holders`` parties, next to one held by ``common``: a misspelling of it."""
    return common > ratio * max(holders, 1)


def toward_common(expanded, holders):
    """``expanded`` (:func:`expand`) without each token's misspellings (a term not
    counted holds none): their holders are indexed under the token (:func:`more_common`)."""
    return {token: {term: why for term, why in terms.items()
                    if term == token or not is_misspelling(holders.get(term, 0), holders.get(token, 0))}
            for token, terms in expanded.items()}


def more_common(expanded, holders):
    """``{token: (terms)}``: for each token of ``expanded`` that is a misspelling of
    some of its neighbours (at :data:`ALIAS_RATIO`), those, under which its holders are
    indexed too."""
    aliases = {}
    for token, terms in expanded.items():
        own = holders.get(token, 0)
        common = tuple(sorted(term for term in terms
                              if term != token and is_misspelling(own, holders.get(term, 0), ALIAS_RATIO)))
        if common:
            aliases[token] = common
    return aliases


def count_holders(connection, changes):
    """Add ``changes`` (``{term: parties gained, or lost when negative}``) to the counts
    when the session's transaction commits (``connection``: the session's)."""
    rows = [{"term": term, "holders": change} for term, change in changes.items() if change]
    if not rows:
        return
    _create_pending(connection)
    insert_rows(connection, _PENDING, rows)
    db.session.info[_HAS_PENDING] = True


def _create_pending(connection):
    """The connection's temporary table of changes to the counts, made where it is not
    there (its creation is undone with the transaction that made it, if rolled back)."""
    if connection.dialect.name == "postgresql":
        exists, on_commit = f"SELECT to_regclass('pg_temp.{_PENDING.name}') IS NOT NULL", " ON COMMIT DELETE ROWS"
    else:
        exists, on_commit = f"SELECT count(*) FROM sqlite_temp_master WHERE name = '{_PENDING.name}'", ""
    if connection.exec_driver_sql(exists).scalar():
        return
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {_PENDING.name} (term VARCHAR(64), holders INTEGER){on_commit}")
    connection.exec_driver_sql(f"CREATE INDEX ix_{_PENDING.name}_term ON {_PENDING.name} (term)")


@event.listens_for(Session, "before_commit")
def _apply_pending(session):
    """The transaction's changes to the counts, in one statement just before it commits.

    A writer that updated the rows of "jean" and "martin" as it indexed would hold their
    locks until its commit: a front-desk creation of any Jean would wait for the batch
    of an import being written, and two writers that each indexed twice could wait on
    each other in a cycle. Here the changes wait in a temporary table (a rolled-back
    savepoint, such as a dry run's, takes its own with it), and the shared rows are
    locked at the very end, in the order of their terms."""
    session.flush()  # the index follows the last changes on flush
    if not session.info.pop(_HAS_PENDING, False):
        return
    connection = session.connection()
    _create_pending(connection)
    connection.exec_driver_sql(
        f"INSERT INTO search_terms (term, holders) SELECT term, sum(holders) FROM {_PENDING.name} WHERE true "
        "GROUP BY term HAVING sum(holders) <> 0 ORDER BY term "
        "ON CONFLICT (term) DO UPDATE SET holders = search_terms.holders + excluded.holders")
    connection.exec_driver_sql(f"DELETE FROM {_PENDING.name}")


def add_terms(connection, terms):
    """Add the terms of ``terms`` not known yet, under each of their deletion keys."""
    terms = sorted(terms)
    known = set()
    for start in range(0, len(terms), 5000):
        chunk = terms[start:start + 5000]
        known.update(connection.execute(
            select(_KEYS.c.term).where(among(_KEYS.c.key, chunk), _KEYS.c.term == _KEYS.c.key)
        ).scalars())
    rows = sorted(({"key": key, "term": term} for term in terms if term not in known
                   for key in names.deletion_keys(term)), key=lambda row: row["key"])
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) > _MANY_ROWS:
        # a concurrent writer may add the same new term meanwhile: ON CONFLICT
        _scratch(connection, _SCRATCH_KEYS, "(key VARCHAR(64), term VARCHAR(64))", rows,
                 "INSERT INTO search_term_keys (key, term) SELECT key, term FROM scratch_term_keys "
                 "ON CONFLICT DO NOTHING")
        return
    for start in range(0, len(rows), 5000):
        connection.execute(_dialect(connection).insert(_KEYS).on_conflict_do_nothing(), rows[start:start + 5000])


def recount(connection, key_fields):
    """Count the holders of every term again from the index (``gru search reindex``);
    ``key_fields``: the index fields that are not names."""
    connection.execute(_TERMS.delete())
    _create_pending(connection)
    connection.execute(_PENDING.delete())  # the changes not yet applied are counted here
    placeholders = ", ".join(f"'{field}'" for field in key_fields)
    connection.exec_driver_sql(
        "INSERT INTO search_terms (term, holders) SELECT token, count(DISTINCT party_pk) FROM party_search_tokens "
        f"WHERE field NOT IN ({placeholders}) GROUP BY token")


def _scratch(connection, table, columns, rows, statement):
    """``COPY`` ``rows`` into the temporary ``table``, then run ``statement`` that reads it."""
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table.name} {columns} ON COMMIT DELETE ROWS")
    insert_rows(connection, table, rows)
    connection.exec_driver_sql(statement)
    connection.exec_driver_sql(f"TRUNCATE {table.name}")


def _dialect(connection):
    return postgresql if connection.dialect.name == "postgresql" else sqlite
