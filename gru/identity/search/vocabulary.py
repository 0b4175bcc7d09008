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
up from both sides, as before. The two rules are each other's complement, so every pair
of neighbours is still found whichever comes first. Measured on the hub an initial load
of 1,002,323 lines made (155,096 terms): a looked-up name has 62.5 neighbours on average,
1.04 of them kept; 20,438 names of parties get alias keys. Without the ratio (toward any
more common neighbour), 0.51 kept but 730,345 names aliased: 6 million index rows more.

The counts are kept in the transaction of every index change, the rows updated in the
order of their terms (two writers never wait on each other in a cycle). A party indexed
before the common form of its name was common gets its alias keys at its next index
change, or with ``gru search reindex``.
"""

import functools

from rapidfuzz.distance import OSA
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from gru.bulk_sql import insert_rows
from gru.identity import names
from gru.identity.search.models import SearchTerm, SearchTermKey
from gru.identity.search.sql import among, among_bound, flushed_connection, select_among

_KEYS = SearchTermKey.__table__
_TERMS = SearchTerm.__table__
#: the temporary tables of the bulk path on PostgreSQL (not in the metadata: never created by migrations)
_SCRATCH_KEYS = Table("scratch_term_keys", MetaData(), Column("key", String(64)), Column("term", String(64)))
_SCRATCH_COUNTS = Table("scratch_term_counts", MetaData(), Column("term", String(64)), Column("holders", Integer))
#: a neighbour held by this many times more parties than a name is its common form, the
#: name a misspelling of it (measured above: 3 gives 22,386 aliased names, 30 gives 16,691)
MISSPELLING_RATIO = 10
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
    """``{term: number of parties holding it}`` for those of ``terms`` the vocabulary counts."""
    terms, holders = sorted(set(terms)), {}
    for start in range(0, len(terms), 20000):
        holders.update(connection.execute(
            select_among((_TERMS.c.term, _TERMS.c.holders), _TERMS.c.term, terms[start:start + 20000])).all())
    return holders


def is_misspelling(holders, common):
    """A name held by ``holders`` parties, next to one held by ``common``: a misspelling of it."""
    return common > MISSPELLING_RATIO * max(holders, 1)


def toward_common(expanded, holders):
    """``expanded`` (:func:`expand`) without each token's misspellings (a term not
    counted holds none): their holders are indexed under the token (:func:`more_common`)."""
    return {token: {term: why for term, why in terms.items()
                    if term == token or not is_misspelling(holders.get(term, 0), holders.get(token, 0))}
            for token, terms in expanded.items()}


def more_common(expanded, holders):
    """``{token: (terms)}``: for each token of ``expanded`` that is a misspelling of
    some of its neighbours, those, under which its holders are indexed too."""
    aliases = {}
    for token, terms in expanded.items():
        own = holders.get(token, 0)
        common = tuple(sorted(term for term in terms
                              if term != token and is_misspelling(own, holders.get(term, 0))))
        if common:
            aliases[token] = common
    return aliases


def count_holders(connection, changes):
    """Add ``changes`` (``{term: parties gained, or lost when negative}``) to the counts."""
    rows = sorted(({"term": term, "holders": change} for term, change in changes.items() if change),
                  key=lambda row: row["term"])
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) > _MANY_ROWS:
        _scratch(connection, _SCRATCH_COUNTS, "(term VARCHAR(64), holders INTEGER)", rows,
                 "INSERT INTO search_terms (term, holders) SELECT term, holders FROM scratch_term_counts "
                 "ORDER BY term ON CONFLICT (term) DO UPDATE SET holders = search_terms.holders + excluded.holders")
        return
    insert = _dialect(connection).insert(_TERMS)
    statement = insert.on_conflict_do_update(index_elements=[_TERMS.c.term],
                                             set_={"holders": _TERMS.c.holders + insert.excluded.holders})
    for start in range(0, len(rows), 5000):
        connection.execute(statement, rows[start:start + 5000])


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
