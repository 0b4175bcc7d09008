"""Merging two parties into one and undoing it (issue 6, "Duplicates and merge").

Merge keeps everything: every value of both parties moves to the survivor (its history
shows both), the golden value of each attribute is chosen again by the survivorship rule
(DESIGN.md "golden value": highest certification level, then most recent); links,
identifiers, cross-references and documents move to the survivor. The other party
becomes ``merged`` and points to the survivor (``merged_into``); the event
``party.merged`` tells applications to relink their records. A :class:`PartyMerge` row
lists every row moved and both parties' golden pointers before the merge, so that
:func:`unmerge` can put each thing back where it was; what was added to the survivor
after the merge stays there and the unmerge report says so (it cannot tell whose it is).

Documents are owned by the documents package; their rows are moved by table name
(:data:`PARTY_TABLES`), so that identity does not import it (DESIGN.md: dependencies
point one way).
"""

from sqlalchemy import select, update

from gru.errors import Conflict, NotFound, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, HistoryEntry, Identifier, Link, Party, utcnow
from gru.identity.search import duplicates, index
from gru.identity.search.models import DuplicateSuspicion, PartyMerge
from gru.identity.services.parties import get_party_for, touch

#: tables of other packages whose rows belong to a party through ``party_pk``, with the
#: column telling when a row was added (rows added after a merge stay on the survivor)
PARTY_TABLES = {"documents": "uploaded_at", "document_reuses": "reused_at"}


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
    for name in PARTY_TABLES:
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
    _history(survivor, "merged_from", str(merged.id), actor)
    _history(merged, "merged_into", str(survivor.id), actor)
    _moved_history(survivor, merged, moved, actor, "moved_in", "moved_out")
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
    index.index_parties(connection, [(survivor.pk, survivor.kind, _golden(survivor))])
    data = {"survivor_id": str(survivor.id), "merged_id": str(merged.id), "merge_id": str(record.id)}
    record_event(db.session, "party.merged", merged, data)
    record_event(db.session, "party.merged", survivor, data)
    return record


def unmerge(merge_id, actor):
    """Restore both parties as they were; returns the merge record with its report."""
    record = get_merge(merge_id)
    if record.unmerged_at is not None:
        raise Conflict("This merge was already undone.")
    survivor, merged = db.session.get(Party, record.survivor_pk), db.session.get(Party, record.merged_pk)
    actor.check_kind(survivor.kind)
    if survivor.status != "active" or merged.status != "merged" or merged.merged_into_pk != survivor.pk:
        raise Conflict("The parties changed status since the merge; it cannot be undone.")
    db.session.flush()
    moved, since = record.moved, record.merged_at
    restored = {
        "attribute_values": _move_back(AttributeValue, AttributeValue.party_pk, moved["attribute_values"], merged.pk),
        "links_person": _move_back(Link, Link.person_pk, moved["links_person"], merged.pk),
        "links_target": _move_back(Link, Link.target_pk, moved["links_target"], merged.pk),
        "identifiers": _move_back(Identifier, Identifier.party_pk, moved["identifiers"], merged.pk),
        "cross_references": _move_back(CrossReference, CrossReference.party_pk, moved["cross_references"], merged.pk),
    }
    for name in PARTY_TABLES:
        restored[name] = _move_table_back(name, moved.get(name, []), merged.pk)
    reuses = _table("document_reuses")
    if reuses is not None and moved.get("documents"):  # reuses since the merge follow their document
        db.session.execute(update(reuses).where(reuses.c.document_pk.in_(moved["documents"])).values(party_pk=merged.pk))
    db.session.expire_all()
    moved_values = set(moved["attribute_values"])
    before = record.golden_before
    for golden in list(survivor.golden):
        if golden.value_pk not in moved_values:
            continue  # the survivor's own value, or one recorded since the merge: it stays
        previous = before["survivor"].get(golden.attribute_key)
        if previous is None:
            survivor.golden.remove(golden)
        else:
            value = db.session.get(AttributeValue, previous)
            golden.value, golden.lookup = value, _lookup(value)
    for key, value_pk in before["merged"].items():
        value = db.session.get(AttributeValue, value_pk)
        merged.golden.append(GoldenValue(attribute_key=key, value=value, lookup=_lookup(value)))
    merged.status, merged.merged_into_pk = "active", None
    touch(survivor)
    touch(merged)
    _history(survivor, "unmerged", str(merged.id), actor)
    _history(merged, "unmerged", str(survivor.id), actor)
    _moved_history(merged, survivor, restored, actor, "moved_in", "moved_out")
    kept = _added_since(survivor.pk, since, moved_values)
    record.unmerged_at, record.unmerged_by = utcnow(), f"{actor.type}:{actor.id}"
    record.unmerge_report = {
        "restored": {name: len(pks) for name, pks in restored.items()},
        "kept_on_survivor": kept,
        "note": "What was added to the survivor after the merge cannot be told apart and stays on the survivor."
        if any(kept.values()) else None,
    }
    first, second = sorted((survivor.pk, merged.pk))
    pair = db.session.scalar(select(DuplicateSuspicion).where(
        DuplicateSuspicion.party_a_pk == first, DuplicateSuspicion.party_b_pk == second))
    if pair is not None:  # an undone merge says these two are distinct: never proposed again
        pair.status, pair.decided_by, pair.decided_at = "not_duplicate", actor.id, utcnow()
    db.session.flush()
    connection = db.session.connection()
    index.index_parties(connection, [(party.pk, party.kind, _golden(party)) for party in (survivor, merged)])
    data = {"survivor_id": str(survivor.id), "merged_id": str(merged.id), "merge_id": str(record.id)}
    record_event(db.session, "party.unmerged", merged, data)
    record_event(db.session, "party.unmerged", survivor, data)
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


def _golden(party):
    return {golden.attribute_key: golden.value.value for golden in party.golden if golden.value.value is not None}


def _lookup(value):
    from gru.identity.services.context import catalogue

    return "" if value.value is None else catalogue().get(value.attribute_key).lookup_key(value.value)


def _move(model, column, from_pk, to_pk):
    pks = list(db.session.scalars(select(model.pk).where(column == from_pk)))
    if pks:
        db.session.execute(update(model).where(model.pk.in_(pks)).values({column.key: to_pk}),
                           execution_options={"synchronize_session": "fetch"})
    return pks


def _move_back(model, column, pks, to_pk):
    existing = list(db.session.scalars(select(model.pk).where(model.pk.in_(pks)))) if pks else []
    if existing:
        db.session.execute(update(model).where(model.pk.in_(existing)).values({column.key: to_pk}),
                           execution_options={"synchronize_session": "fetch"})
    return existing


def _table(name):
    return db.metadata.tables.get(name)


def _move_table(name, from_pk, to_pk):
    table = _table(name)
    if table is None:
        return []
    pks = list(db.session.execute(select(table.c.pk).where(table.c.party_pk == from_pk)).scalars())
    if pks:
        db.session.execute(update(table).where(table.c.pk.in_(pks)).values(party_pk=to_pk))
    return pks


def _move_table_back(name, pks, to_pk):
    table = _table(name)
    if table is None or not pks:
        return []
    db.session.execute(update(table).where(table.c.pk.in_(pks)).values(party_pk=to_pk))
    return pks


def _added_since(party_pk, since, moved_values):
    kept = {
        "attribute_values": sorted({value.attribute_key for value in db.session.scalars(select(AttributeValue).where(
            AttributeValue.party_pk == party_pk, AttributeValue.recorded_at > since)) if value.pk not in moved_values}),
        "links": [str(link.id) for link in db.session.scalars(select(Link).where(
            (Link.person_pk == party_pk) | (Link.target_pk == party_pk), Link.created_at > since))],
        "identifiers": [f"{item.type}:{item.value}" for item in db.session.scalars(select(Identifier).where(
            Identifier.party_pk == party_pk, Identifier.created_at > since))],
        "cross_references": [f"{item.application_code}:{item.local_id}" for item in db.session.scalars(
            select(CrossReference).where(CrossReference.party_pk == party_pk, CrossReference.created_at > since))],
    }
    for name, column in PARTY_TABLES.items():
        table = _table(name)
        if table is not None and name == "documents":
            kept[name] = [str(row.id) for row in db.session.execute(select(table.c.id).where(
                table.c.party_pk == party_pk, table.c[column] > since))]
    return kept


def _moved_history(receiver, giver, moved, actor, action_in, action_out):
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


def _history(party, action, other_id, actor):
    db.session.add(HistoryEntry(party_pk=party.pk, subject="party", subject_key=other_id, action=action,
                                old_value=None, new_value=other_id, channel="desk" if actor.type == "agent" else "application",
                                author_type=actor.type, author_id=actor.id))
