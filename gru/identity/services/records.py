"""Reading a golden record in two statements, without building ORM objects.

The read of ``GET /api/v1/parties/{id}`` is the hub's hottest path. Loading the ORM
graph (party, golden pointers, values, identifiers, cross-references) costs five
statements and an object per row; here one statement joins the party to its golden
values and their provenance, a second reads its identifiers and cross-references, and
:func:`read_record` returns the same document as
:func:`gru.identity.schemas.party_document` builds from a loaded party. Both statements run on the DBAPI cursor (:mod:`gru.direct_sql`). One ``UNION
ALL`` of the two was measured slower on PostgreSQL, whose planner then has three joins to
plan, and no faster on SQLite. :func:`read_records` reads a page of records (search hits)
the same way, in two statements whatever their number.
"""

import json
from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, any_, bindparam, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from gru.direct_sql import DirectStatement
from gru.errors import NotFound
from gru.extensions import db
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, Identifier, Party
from gru.identity.schemas import flag_expired_proofs, provenance_summary

_survivor = aliased(Party)

#: the party, its survivor's id if merged, and each golden value with its provenance; a
#: party with no golden value yet gives one row whose ``attribute_key`` is NULL
_RECORD_ROWS = (
    select(
        Party.pk, Party.id, Party.kind, Party.status, Party.version, Party.created_at, Party.updated_at,
        _survivor.id.label("merged_into"),
        GoldenValue.attribute_key, AttributeValue.value, AttributeValue.level, AttributeValue.process,
        AttributeValue.channel, AttributeValue.author_type, AttributeValue.author_id,
        AttributeValue.document_id, AttributeValue.recorded_at,
    )
    .select_from(Party)
    .outerjoin(_survivor, _survivor.pk == Party.merged_into_pk)
    .outerjoin(GoldenValue, GoldenValue.party_pk == Party.pk)
    .outerjoin(AttributeValue, AttributeValue.pk == GoldenValue.value_pk)
)
_RECORD = DirectStatement(_RECORD_ROWS.where(Party.id == bindparam("party_id")))

#: identifiers (tag 0) then cross-references (tag 1), each in the order they were added
_REFERENCES = DirectStatement(union_all(
    select(literal(0).label("tag"), Identifier.pk, Identifier.type.label("first"), Identifier.value.label("second"))
    .where(Identifier.party_pk == bindparam("party_pk")),
    select(literal(1), CrossReference.pk, CrossReference.application_code, CrossReference.local_id)
    .where(CrossReference.party_pk == bindparam("party_pk")),
).order_by("tag", "pk"))


@dataclass(frozen=True)
class PartyRecord:
    """A party as read: what the edge needs besides the document (kind check, ETag)."""

    pk: int
    id: object
    kind: str
    status: str
    version: int
    document: dict

    @property
    def etag(self):
        return f'"{self.id.hex}.{self.version}"'


def read_record(party_id):
    """The golden record of ``party_id`` (any status), or :class:`NotFound`."""
    connection = db.session.connection()
    rows = _RECORD.execute(connection, {"party_id": party_id})
    if not rows:
        raise NotFound("No party has this id.")
    return _record(rows, _REFERENCES.execute(connection, {"party_pk": rows[0].pk}))


def _among(column, dialect):
    """``column IN`` the list ``pks`` given as one parameter, so that the statement is
    compiled once and runs on the cursor: an array on PostgreSQL, a JSON array read by
    ``json_each`` on SQLite (:func:`_pks`)."""
    if dialect == "postgresql":
        return column == any_(bindparam("pks", type_=ARRAY(BigInteger)))
    return column.in_(select(func.json_each(bindparam("pks", type_=Text)).table_valued("value").c.value))


def _pks(dialect, pks):
    return list(pks) if dialect == "postgresql" else json.dumps(list(pks))


def _records_of_many(dialect):
    """:data:`_RECORD` and :data:`_REFERENCES` for a list of parties."""
    references = union_all(
        select(literal(0).label("tag"), Identifier.pk, Identifier.type.label("first"), Identifier.value.label("second"),
               Identifier.party_pk).where(_among(Identifier.party_pk, dialect)),
        select(literal(1), CrossReference.pk, CrossReference.application_code, CrossReference.local_id,
               CrossReference.party_pk).where(_among(CrossReference.party_pk, dialect)),
    ).order_by("tag", "pk")
    return DirectStatement(_RECORD_ROWS.where(_among(Party.pk, dialect))), DirectStatement(references)


_OF_MANY = {dialect: _records_of_many(dialect) for dialect in ("postgresql", "sqlite")}


def read_records(pks):
    """The golden records of the parties ``pks`` (those that exist), in that order: the
    documents of :func:`read_record` for a page of search hits, in two statements
    whatever their number."""
    if not pks:
        return []
    connection = db.session.connection()
    dialect = connection.dialect.name
    records_statement, references_statement = _OF_MANY[dialect]
    rows, references = {}, {}
    for row in records_statement.execute(connection, {"pks": _pks(dialect, pks)}):
        rows.setdefault(row.pk, []).append(row)
    for row in references_statement.execute(connection, {"pks": _pks(dialect, rows)}):
        references.setdefault(row.party_pk, []).append(row)
    return [_record(rows[pk], references.get(pk, ())) for pk in pks if pk in rows]


def _record(rows, reference_rows):
    """The :class:`PartyRecord` of one party's rows of :data:`_RECORD` and :data:`_REFERENCES`."""
    first = rows[0]
    attributes, provenance = {}, {}
    for row in rows:
        if row.attribute_key is not None and row.value is not None:  # None: no value yet, or cleared
            attributes[row.attribute_key] = row.value
            provenance[row.attribute_key] = provenance_summary(row)
    flag_expired_proofs(provenance)
    identifiers, cross_references = [], []
    for tag, _pk, first_text, second_text, *_party in reference_rows:
        if tag == 0:
            identifiers.append({"type": first_text, "value": second_text})
        else:
            cross_references.append({"application": first_text, "local_id": second_text})
    document = {
        "id": first.id,
        "kind": first.kind,
        "status": first.status,
        "merged_into": first.merged_into,
        "version": first.version,
        "created_at": first.created_at,
        "updated_at": first.updated_at,
        "attributes": attributes,
        "provenance": provenance,
        "identifiers": identifiers,
        "cross_references": cross_references,
    }
    return PartyRecord(first.pk, first.id, first.kind, first.status, first.version, document)
