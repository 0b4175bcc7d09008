"""Creating, reading, updating and listing parties."""

import base64
import binascii
import uuid

from sqlalchemy import exists, select, update

from gru.bulk_sql import insert_returning_pks, insert_rows
from gru.errors import InvalidValue, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from gru.events.services import record_event, record_events
from gru.extensions import db
from gru.identity.catalogue import PARTY_KINDS
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, Identifier, Party, utcnow
from gru.identity.search import index as search_index
from gru.identity.search.sql import among
from gru.identity.services.context import catalogue
from gru.identity.services.values import (UPDATED, check_attributes, record_in_order, record_values,
                                          record_values_many)

_PARTIES = Party.__table__
_VALUES = AttributeValue.__table__
_GOLDEN = GoldenValue.__table__


def create_party(kind, attributes, provenance, actor):
    """Create a party with its first values. Returns ``(party, outcomes)``."""
    if kind not in PARTY_KINDS:
        raise ValidationFailed({"kind": [f"Unknown party kind; expected one of {', '.join(PARTY_KINDS)}."]})
    actor.check_kind(kind)
    checked, outcomes = check_attributes(kind, attributes, provenance, actor)
    # The id (and what the answer shows) is set here, not at flush, so that callers creating
    # many parties (demo, imports, benchmarks) can flush once per batch, and the answer of a
    # creation without values is complete before any flush.
    now = utcnow()
    party = Party(id=uuid.uuid4(), kind=kind, version=1, status="active", created_at=now, updated_at=now)
    db.session.add(party)
    changed = record_values(party, checked, provenance, actor, outcomes)
    # Outbox (STYLE.md habit 3): the event is written in the change's transaction.
    record_events(db.session, [("party.created", party.id, kind, {"kind": kind, "attributes": sorted(changed)})],
                  new_parties=True)
    return party, outcomes


def create_parties(kind, attribute_sets, provenance, actor):
    """Create one party of ``kind`` per mapping of ``attribute_sets``, in bulk.

    The same rules as :func:`create_party` (validation, rights, levels), for imports, the
    demo and benchmarks: every set is checked before anything is stored, and one invalid
    value refuses the whole batch (:class:`ValidationFailed`, fields named
    ``<index>.attributes.<key>``). Rows go in with three multi-row INSERTs (parties,
    values, golden pointers; :mod:`gru.bulk_sql`) on the session's connection, not as
    ORM objects; the session is flushed first so that they follow what it holds. The
    events and the search index are written in the same transaction. Never commits.
    Returns ``[(party id, outcomes)]`` in the order of ``attribute_sets``.
    """
    if kind not in PARTY_KINDS:
        raise ValidationFailed({"kind": [f"Unknown party kind; expected one of {', '.join(PARTY_KINDS)}."]})
    actor.check_kind(kind)
    checked_sets, errors = [], {}
    for index, attributes in enumerate(attribute_sets):
        try:
            checked_sets.append(check_attributes(kind, attributes, provenance, actor))
        except ValidationFailed as failure:
            errors.update({f"{index}.{field}": messages for field, messages in failure.errors.items()})
    if errors:
        raise ValidationFailed(errors, detail="Some attribute values are invalid; nothing was stored.")
    created, _later = create_recorded_parties(kind, checked_sets, (), provenance, actor)
    return [(party_id, outcomes) for party_id, outcomes, _pk in created]


def create_recorded_parties(kind, checked_sets, later, provenance, actor, profiles=None, aliases=None, tokens=None):
    """:func:`create_parties` for ``(checked, outcomes)`` sets that already went through
    :func:`check_attributes` with this provenance and actor (an import checks each line
    alone, to report a bad one by its number), each party with the later records of it
    in ``later`` (``[(index of its set, checked)]``, in the order they come: the lines an
    import links to it) applied after its creation by the same rule as
    :func:`update_parties`, but in memory, before anything is written: each party is
    written once, with its final golden values indexed, instead of created then
    updated. A party a later record changed is at version 2 and has its
    ``party.updated`` event after its ``party.created``. ``profiles``, ``tokens``,
    ``aliases``: the search profiles and tokens of the sets and the common forms of
    their misspelt names, when the caller already has them
    (:func:`gru.identity.search.index.index_parties`). Returns ``([(party id, outcomes,
    party pk)], outcomes of each later record)``."""
    if not checked_sets:
        return [], []
    db.session.flush()
    connection = db.session.connection()
    now = utcnow()
    rows, pointers, current, golden = [], {}, {}, [{} for _ in checked_sets]
    # a new party's values, then the later records, by the same rule: against no value,
    # a value becomes golden and clearing an attribute changes nothing
    first_outcomes, _created = record_in_order([(index, checked) for index, (checked, _o) in enumerate(checked_sets)],
                                               current, golden, rows, pointers, provenance, actor, now)
    for (_checked, outcomes), first in zip(checked_sets, first_outcomes):
        outcomes.update(first)
    later_outcomes, changed = record_in_order(later, current, golden, rows, pointers, provenance, actor, utcnow())
    ids = [uuid.uuid4() for _ in checked_sets]
    party_pks = insert_returning_pks(connection, _PARTIES, [
        {"id": party_id, "kind": kind, "status": "active", "version": 2 if index in changed else 1,
         "created_at": now, "updated_at": now}
        for index, party_id in enumerate(ids)
    ])
    for row in rows:
        row["party_pk"] = party_pks[row["party_pk"]]
    value_pks = insert_returning_pks(connection, _VALUES, rows)
    insert_rows(connection, _GOLDEN, [
        {"party_pk": party_pks[index], "attribute_key": key, "value_pk": value_pks[row], "lookup": lookup}
        for (index, key), (row, lookup) in pointers.items()
    ])
    record_events(db.session, [
        ("party.created", party_id, kind, {"kind": kind, "attributes": _updated(outcomes)})
        for party_id, (_checked, outcomes) in zip(ids, checked_sets)
    ] + [
        ("party.updated", ids[index], kind, {"attributes": _updated(outcomes)})
        for (index, _checked), outcomes in zip(later, later_outcomes) if _updated(outcomes)
    ], new_parties=True)
    if changed:  # their profiles and tokens are those of their final golden values
        profiles = [search_index.profile_of(kind, golden[index]) if profiles is None or index in changed
                    else profiles[index] for index in range(len(checked_sets))]
        tokens = tokens and [None if index in changed else known for index, known in enumerate(tokens)]
    search_index.index_parties(connection, [(pk, kind, golden[index]) for index, pk in enumerate(party_pks)],
                               is_new=True, profiles=profiles, aliases=aliases, tokens=tokens)
    created = [(party_id, outcomes, pk) for party_id, (_checked, outcomes), pk in zip(ids, checked_sets, party_pks)]
    return created, later_outcomes


def _updated(outcomes):
    return sorted(key for key, outcome in outcomes.items() if outcome.status == UPDATED)


def update_parties(kind, items, provenance, actor, aliases=None):
    """The bulk twin of :func:`update_party` for imports: ``items`` are ``(party_pk,
    checked)`` of active parties of ``kind`` (checked by :func:`check_attributes`), in
    order; the values are recorded by the same rules
    (:func:`gru.identity.services.values.record_values_many`). Each party whose golden
    values changed moves to its next version, is indexed again and gets one
    ``party.updated`` event per item that changed it. No ETag: the import is the
    application's own account of its records, not an edit of a record it read.
    ``aliases``: as :func:`gru.identity.search.index.index_parties`. Never commits.
    Returns the outcomes of each item."""
    results, golden = record_values_many(items, provenance, actor)
    if not golden:
        return results
    connection = db.session.connection()
    pks = list(golden)
    connection.execute(update(_PARTIES).where(among(_PARTIES.c.pk, pks))
                       .values(version=_PARTIES.c.version + 1, updated_at=utcnow()))
    for party in [obj for obj in db.session.identity_map.values() if isinstance(obj, Party) and obj.pk in golden]:
        db.session.expire(party)  # its version moved on in the database
    ids = dict(connection.execute(select(_PARTIES.c.pk, _PARTIES.c.id).where(among(_PARTIES.c.pk, pks))).all())
    record_events(db.session, [
        ("party.updated", ids[pk], kind, {"attributes": _updated(outcomes)})
        for (pk, _checked), outcomes in zip(items, results) if _updated(outcomes)
    ])
    search_index.index_parties(connection, [(pk, kind, values) for pk, values in golden.items()], aliases=aliases)
    return results


def get_party(party_id):
    party = db.session.scalar(select(Party).where(Party.id == party_id))
    if party is None:
        raise NotFound("No party has this id.")
    return party


def get_party_for(actor, party_id):
    """The party, when the actor's rights cover its kind."""
    party = get_party(party_id)
    actor.check_kind(party.kind)
    return party


def check_if_match(resource, if_match):
    """RFC 9110 section 13.1.1 with RFC 6585 section 3: updates must be conditional."""
    if not if_match:
        raise PreconditionRequired("This update needs an If-Match header with the ETag of the record.")
    candidates = {tag.strip() for tag in if_match.split(",")}
    if "*" not in candidates and resource.etag not in candidates:
        raise PreconditionFailed("The record changed since it was read; read it again and retry.")


def update_party(party_id, if_match, attributes, provenance, actor):
    """Record new values for an existing party. Returns ``(party, outcomes)``."""
    party = get_party_for(actor, party_id)
    check_if_match(party, if_match)
    if party.status != "active":
        raise InvalidValue(f"This party is {party.status} and cannot be changed.")
    checked, outcomes = check_attributes(party.kind, attributes, provenance, actor)
    changed = record_values(party, checked, provenance, actor, outcomes)
    if changed or any(outcome.status != UPDATED for outcome in outcomes.values()):
        touch(party)
    db.session.flush()
    if changed:
        record_event(db.session, "party.updated", party, {"attributes": sorted(changed)})
    return party, outcomes


def touch(party):
    """Mark the party changed: its version (and so its ETag) moves on."""
    party.updated_at = utcnow()


def golden_attributes(party):
    """{key: golden value} of the party, cleared attributes left out."""
    return {
        golden.attribute_key: golden.value.value
        for golden in party.golden
        if golden.value.value is not None
    }


def encode_cursor(position):
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor given by a previous page."]}) from None


def split_pair(name, raw):
    first, separator, second = raw.partition(":")
    if not separator or not first or not second:
        raise ValidationFailed({name: [f"Expected {name}=KEY:VALUE, got {raw!r}."]})
    return first, second


def list_parties(*, kinds=None, where=(), xref=None, identifier=None, cursor=None, limit=50):
    """Parties matching every filter, oldest first. Returns ``(parties, next_cursor)``.

    ``where`` holds ``attribute:value`` equality filters on golden values, compared on the
    normalised form (so ``+687 75.12.34`` finds ``+687751234``).
    """
    query = select(Party).where(Party.status != "erased").order_by(Party.pk)
    if kinds is not None:
        query = query.where(Party.kind.in_(kinds))
    definitions = catalogue()
    for raw in where:
        key, text = split_pair("where", raw)
        if key not in definitions:
            raise ValidationFailed({"where": [f"Unknown attribute {key!r}."]})
        definition = definitions.get(key)
        try:
            lookup = definition.lookup_key(definition.validate(_filter_input(definition, text)))
        except InvalidValue as error:
            raise ValidationFailed({"where": [f"{key}: {error.detail}"]}) from None
        query = query.where(
            exists().where(
                GoldenValue.party_pk == Party.pk,
                GoldenValue.attribute_key == key,
                GoldenValue.lookup == lookup,
            )
        )
    if xref is not None:
        application_code, local_id = split_pair("xref", xref)
        query = query.where(
            exists().where(
                CrossReference.party_pk == Party.pk,
                CrossReference.application_code == application_code,
                CrossReference.local_id == local_id,
            )
        )
    if identifier is not None:
        type_, value = split_pair("identifier", identifier)
        query = query.where(
            exists().where(Identifier.party_pk == Party.pk, Identifier.type == type_, Identifier.value == value)
        )
    if cursor:
        query = query.where(Party.pk > decode_cursor(cursor))
    parties = list(db.session.scalars(query.limit(limit + 1)))
    next_cursor = encode_cursor(parties[limit - 1].pk) if len(parties) > limit else None
    return parties[:limit], next_cursor


def _filter_input(definition, text):
    """Structured attributes are filtered on their JSON form; the others on the text."""
    if definition.type == "postal_address":
        import json

        try:
            return json.loads(text)
        except ValueError:
            raise InvalidValue("an address filter is a JSON object") from None
    return text
