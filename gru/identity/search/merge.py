"""Merging two parties into one and undoing it (issue 6, "Duplicates and merge").

Merge keeps everything: every value of both parties moves to the survivor (its history
shows both), the golden value of each attribute is chosen again by the survivorship rule
(DESIGN.md "golden value": highest certification level, then most recent); links,
identifiers, cross-references and documents move to the survivor. The other party
becomes ``merged`` and points to the survivor (``merged_into``); the event
``party.merged`` tells applications to relink their records. A :class:`PartyMerge` row
lists every row moved and both parties' golden pointers before the merge, so that
:func:`gru.identity.search.unmerge.unmerge` can put each thing back where it was.

Rows other packages keep per party (documents and their reuses, consents) are moved by
table name: each package registers its tables with :func:`register_party_table`, so
that identity imports none of them (DESIGN.md: dependencies point one way).
"""

from sqlalchemy import select, update

from gru.errors import Conflict, NotFound, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, HistoryEntry, Identifier, Link, Party, utcnow
from gru.identity.search import duplicates, index
from gru.identity.search.models import DuplicateSuspicion, PartyMerge
from gru.identity.services.parties import get_party_for, touch

_PARTY_TABLES = "gru.party_tables"
_PARTY_TABLE_AUTHORS = "gru.party_table_authors"


def register_party_table(app, name, added_at_column, author_columns=None):
    """Have merges move the rows of table ``name`` (its ``party_pk`` column) with the
    party, and unmerges move them back; ``added_at_column`` tells when a row was added
    (rows added after a merge are reported by the unmerge). ``author_columns``, the
    ``(author type, author id)`` columns of a row, let the unmerge place a row added since
    the merge by an application on the party that application knew (rule 2 of
    :mod:`gru.identity.search.unmerge`)."""
    app.extensions.setdefault(_PARTY_TABLES, {})[name] = added_at_column
    if author_columns is not None:
        app.extensions.setdefault(_PARTY_TABLE_AUTHORS, {})[name] = tuple(author_columns)


def party_tables():
    """``{table name: added-at column}`` registered by the packages of the current app."""
    from flask import current_app

    return current_app.extensions.get(_PARTY_TABLES, {})


def party_table_authors():
    """``{table name: (author type column, author id column)}`` of the registered tables
    whose rows name their author."""
    from flask import current_app

    return current_app.extensions.get(_PARTY_TABLE_AUTHORS, {})


def _better(candidate, current):
    """Survivorship: a value beats a cleared one; then higher level; then more recent."""
    def key(value):
        return (value.value is not None, value.level, value.recorded_at, value.pk)
    return key(candidate) > key(current)


def merge(survivor_id, merged_id, actor, reason=None, suspicion_id=None):
    survivor, merged = get_party_for(actor, survivor_id), get_party_for(actor, merged_id)
    if survivor.pk == merged.pk:
        raise ValidationFailed({"merged_id": ["A party cannot be merged into itself."]})
    for party in (survivor, merged):
        if party.status != "active":
            raise Conflict(f"Party {party.id} is {party.status}; only active parties are merged.")
    if survivor.kind != merged.kind:
        raise ValidationFailed({"merged_id": [f"A {merged.kind} cannot be merged into a {survivor.kind}."]})
    suspicion = duplicates.get_suspicion(suspicion_id) if suspicion_id else None
    db.session.flush()
    golden_before = {
        "survivor": {golden.attribute_key: golden.value_pk for golden in survivor.golden},
        "merged": {golden.attribute_key: golden.value_pk for golden in merged.golden},
    }
    moved = {
        "attribute_values": _move(AttributeValue, AttributeValue.party_pk, merged.pk, survivor.pk),
        "links_person": _move(Link, Link.person_pk, merged.pk, survivor.pk),
        "links_target": _move(Link, Link.target_pk, merged.pk, survivor.pk),
        "identifiers": _move(Identifier, Identifier.party_pk, merged.pk, survivor.pk),
        "cross_references": _move(CrossReference, CrossReference.party_pk, merged.pk, survivor.pk),
    }
    for name in party_tables():
        moved[name] = _move_table(name, merged.pk, survivor.pk)
    by_key = {golden.attribute_key: golden for golden in survivor.golden}
    for golden in list(merged.golden):
        current = by_key.get(golden.attribute_key)
        if current is None:
            survivor.golden.append(GoldenValue(attribute_key=golden.attribute_key, value=golden.value, lookup=golden.lookup))
        elif _better(golden.value, current.value):
            current.value, current.lookup = golden.value, golden.lookup
        merged.golden.remove(golden)
    merged.status, merged.merged_into_pk = "merged", survivor.pk
    touch(survivor)
    touch(merged)
    record_history(survivor, "merged_from", str(merged.id), actor)
    record_history(merged, "merged_into", str(survivor.id), actor)
    record_moved_history(survivor, merged, moved, actor, "moved_in", "moved_out")
    record = PartyMerge(survivor_pk=survivor.pk, merged_pk=merged.pk, moved=moved, golden_before=golden_before,
                        merged_by=f"{actor.type}:{actor.id}", reason=reason)
    db.session.add(record)
    if suspicion is not None:
        duplicates.close_merged(suspicion, f"{actor.type}:{actor.id}")
    for other in db.session.scalars(select(DuplicateSuspicion).where(
            DuplicateSuspicion.status == "open",
            (DuplicateSuspicion.party_a_pk == merged.pk) | (DuplicateSuspicion.party_b_pk == merged.pk))):
        other.status, other.decided_by, other.decided_at = "merged", actor.id, utcnow()
    db.session.flush()
    connection = db.session.connection()
    index.remove_parties(connection, [merged.pk])
    index.index_parties(connection, [(survivor.pk, survivor.kind, golden_attributes(survivor))])
    data = {"survivor_id": str(survivor.id), "merged_id": str(merged.id), "merge_id": str(record.id)}
    record_event(db.session, "party.merged", merged, data)
    record_event(db.session, "party.merged", survivor, data)
    return record


def get_merge(merge_id):
    record = db.session.scalar(select(PartyMerge).where(PartyMerge.id == merge_id))
    if record is None:
        raise NotFound("No merge has this id.")
    return record


def merge_document(record):
    survivor, merged = db.session.get(Party, record.survivor_pk), db.session.get(Party, record.merged_pk)
    return {
        "id": record.id, "survivor_id": survivor.id, "merged_id": merged.id,
        "moved": {name: len(pks) for name, pks in record.moved.items()},
        "merged_by": record.merged_by, "merged_at": record.merged_at,
        "unmerged_at": record.unmerged_at, "unmerge_report": record.unmerge_report,
    }


def golden_attributes(party):
    return {golden.attribute_key: golden.value.value for golden in party.golden if golden.value.value is not None}


def lookup_of(value):
    from gru.identity.services.context import catalogue

    return "" if value.value is None else catalogue().get(value.attribute_key).lookup_key(value.value)


def _move(model, column, from_pk, to_pk):
    pks = list(db.session.scalars(select(model.pk).where(column == from_pk)))
    if pks:
        db.session.execute(update(model).where(model.pk.in_(pks)).values({column.key: to_pk}),
                           execution_options={"synchronize_session": "fetch"})
    return pks


def party_table(name):
    return db.metadata.tables.get(name)


def _move_table(name, from_pk, to_pk):
    table = party_table(name)
    if table is None:
        return []
    pks = list(db.session.execute(select(table.c.pk).where(table.c.party_pk == from_pk)).scalars())
    if pks:
        db.session.execute(update(table).where(table.c.pk.in_(pks)).values(party_pk=to_pk))
    return pks


def record_moved_history(receiver, giver, moved, actor, action_in, action_out):
    """One history entry per link, identifier and cross-reference moved, on both parties."""
    items = []
    for identifier in db.session.scalars(select(Identifier).where(Identifier.pk.in_(moved["identifiers"]))):
        items.append(("identifier", identifier.type, identifier.value))
    for reference in db.session.scalars(select(CrossReference).where(CrossReference.pk.in_(moved["cross_references"]))):
        items.append(("xref", reference.application_code, reference.local_id))
    for link in db.session.scalars(select(Link).where(Link.pk.in_(moved["links_person"] + moved["links_target"]))):
        items.append(("link", link.kind, str(link.id)))
    channel = "desk" if actor.type == "agent" else "application"
    for subject, key, value in items:
        for party, action in ((receiver, action_in), (giver, action_out)):
            db.session.add(HistoryEntry(party_pk=party.pk, subject=subject, subject_key=key, action=action,
                                        old_value=None, new_value=value, channel=channel,
                                        author_type=actor.type, author_id=actor.id))


def record_history(party, action, other_id, actor):
    db.session.add(HistoryEntry(party_pk=party.pk, subject="party", subject_key=other_id, action=action,
                                old_value=None, new_value=other_id, channel="desk" if actor.type == "agent" else "application",
                                author_type=actor.type, author_id=actor.id))
