"""Undoing a merge (issue 6, "Duplicates and merge"): both parties as they were, and
what was added to the survivor since the merge placed on the right one where it can
be told.

Everything the merge moved goes back: the merge record lists every row. What was
added to the survivor after the merge is placed by these rules, first one that applies:

1. a value citing a supporting document follows that document;
2. an addition made by an application (a value it recorded, a document it uploaded,
   a cross-reference of its own, a row of another package's table registered with its
   author columns, such as a consent it recorded) goes to the party that application
   knew before the merge, when its cross-references then pointed to one of the two
   only: it was speaking of its own record;
3. anything else stays on the survivor and the report lists it as not told: what an
   agent added, links and identifiers (they carry no author), additions of
   applications that knew both parties or neither.

Golden values are then chosen again on both parties by replaying survivorship
(DESIGN.md "golden value") from their golden values before the merge over the values
each one now holds, in the order they were recorded.
"""

from sqlalchemy import select, update

from gru.errors import Conflict
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, Identifier, Link, Party, utcnow
from gru.identity.search import index
from gru.identity.search.merge import (
    get_merge,
    golden_attributes,
    lookup_of,
    party_table,
    party_table_authors,
    party_tables,
    record_history,
    record_moved_history,
)
from gru.identity.search.models import DuplicateSuspicion
from gru.identity.services.parties import touch


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
    additions = _Additions(survivor.pk, since, moved)
    placed = additions.placed_on_merged()
    back = {
        "attribute_values": moved["attribute_values"] + placed["attribute_values"],
        "links_person": moved["links_person"],
        "links_target": moved["links_target"],
        "identifiers": moved["identifiers"],
        "cross_references": moved["cross_references"] + placed["cross_references"],
    }
    restored = {
        "attribute_values": _move_back(AttributeValue, AttributeValue.party_pk, back["attribute_values"], merged.pk),
        "links_person": _move_back(Link, Link.person_pk, back["links_person"], merged.pk),
        "links_target": _move_back(Link, Link.target_pk, back["links_target"], merged.pk),
        "identifiers": _move_back(Identifier, Identifier.party_pk, back["identifiers"], merged.pk),
        "cross_references": _move_back(CrossReference, CrossReference.party_pk, back["cross_references"], merged.pk),
    }
    for name in party_tables():
        restored[name] = _move_table_back(name, moved.get(name, []) + placed.get(name, []), merged.pk)
    reuses = party_table("document_reuses")
    documents_back = moved.get("documents", []) + placed.get("documents", [])
    if reuses is not None and documents_back:  # reuses since the merge follow their document
        db.session.execute(update(reuses).where(reuses.c.document_pk.in_(documents_back)).values(party_pk=merged.pk))
    db.session.expire_all()
    before = record.golden_before
    _choose_golden_again(survivor, before["survivor"], since)
    _choose_golden_again(merged, before["merged"], since)
    merged.status, merged.merged_into_pk = "active", None
    touch(survivor)
    touch(merged)
    record_history(survivor, "unmerged", str(merged.id), actor)
    record_history(merged, "unmerged", str(survivor.id), actor)
    record_moved_history(merged, survivor, restored, actor, "moved_in", "moved_out")
    kept = additions.kept_on_survivor(set(back["attribute_values"]), set(back["cross_references"]))
    record.unmerged_at, record.unmerged_by = utcnow(), f"{actor.type}:{actor.id}"
    record.unmerge_report = {
        "restored": {name: len(pks) for name, pks in restored.items()},
        "placed_on_merged": additions.describe_placed(),
        "kept_on_survivor": kept,
        "note": "What was added to the survivor since the merge and is listed in kept_on_survivor could not be "
                "told apart (added by an agent, a link or an identifier, or an application that knew both parties "
                "or neither): it stays on the survivor." if any(kept.values()) else None,
    }
    first, second = sorted((survivor.pk, merged.pk))
    pair = db.session.scalar(select(DuplicateSuspicion).where(
        DuplicateSuspicion.party_a_pk == first, DuplicateSuspicion.party_b_pk == second))
    if pair is not None:  # an undone merge says these two are distinct: never proposed again
        pair.status, pair.decided_by, pair.decided_at = "not_duplicate", actor.id, utcnow()
    db.session.flush()
    connection = db.session.connection()
    index.index_parties(connection, [(party.pk, party.kind, golden_attributes(party)) for party in (survivor, merged)])
    data = {"survivor_id": str(survivor.id), "merged_id": str(merged.id), "merge_id": str(record.id)}
    record_event(db.session, "party.unmerged", merged, data)
    record_event(db.session, "party.unmerged", survivor, data)
    return record


class _Additions:
    """What was added to the survivor since the merge, and whose it can be told to be."""

    def __init__(self, survivor_pk, since, moved):
        self.since = since
        moved_values = set(moved["attribute_values"])
        self.values = [value for value in db.session.scalars(select(AttributeValue).where(
            AttributeValue.party_pk == survivor_pk, AttributeValue.recorded_at > since).order_by(AttributeValue.pk))
            if value.pk not in moved_values]
        self.references = list(db.session.scalars(select(CrossReference).where(
            CrossReference.party_pk == survivor_pk, CrossReference.created_at > since).order_by(CrossReference.pk)))
        self.links = list(db.session.scalars(select(Link).where(
            (Link.person_pk == survivor_pk) | (Link.target_pk == survivor_pk), Link.created_at > since)))
        self.identifiers = list(db.session.scalars(select(Identifier).where(
            Identifier.party_pk == survivor_pk, Identifier.created_at > since)))
        documents = party_table("documents") if "documents" in party_tables() else None
        moved_documents = moved.get("documents", [])
        self.moved_document_ids = set() if documents is None or not moved_documents else set(db.session.scalars(
            select(documents.c.id).where(documents.c.pk.in_(moved_documents))))
        merged_apps = set(db.session.scalars(select(CrossReference.application_code).where(
            CrossReference.pk.in_(moved["cross_references"])))) if moved["cross_references"] else set()
        survivor_apps = {item.application_code for item in db.session.scalars(select(CrossReference).where(
            CrossReference.party_pk == survivor_pk, CrossReference.created_at <= since))
            if item.pk not in set(moved["cross_references"])}
        self.merged_only_apps = merged_apps - survivor_apps
        self.authored = {}
        for name, (type_column, id_column) in party_table_authors().items():
            table = party_table(name)
            if table is None:
                continue
            moved_rows = set(moved.get(name, []))
            label = table.c.id if "id" in table.c else table.c.pk
            rows = db.session.execute(select(table.c.pk, label.label("label"), table.c[type_column].label("author_type"),
                                             table.c[id_column].label("author_id")).where(
                table.c.party_pk == survivor_pk, table.c[party_tables()[name]] > since).order_by(table.c.pk)).all()
            self.authored[name] = [row for row in rows if row.pk not in moved_rows]

    def _by_merged_only_app(self, author_type, author_id):
        return author_type == "application" and author_id in self.merged_only_apps

    def placed_on_merged(self):
        self._placed_authored = {
            name: [row for row in rows if self._by_merged_only_app(row.author_type, row.author_id)]
            for name, rows in self.authored.items()}
        # rule 1: a value citing a document follows it (documents are labelled by their id)
        document_ids = self.moved_document_ids | {row.label for row in self._placed_authored.get("documents", ())}
        values = [value for value in self.values
                  if (value.document_id is not None and value.document_id in document_ids)
                  or (value.document_id is None and self._by_merged_only_app(value.author_type, value.author_id))]
        references = [item for item in self.references if item.application_code in self.merged_only_apps]
        self._placed = {"attribute_values": values, "cross_references": references}
        return {"attribute_values": [value.pk for value in values],
                "cross_references": [item.pk for item in references],
                **{name: [row.pk for row in rows] for name, rows in self._placed_authored.items()}}

    def describe_placed(self):
        """What :meth:`placed_on_merged` placed, named for the report."""
        return {
            "attribute_values": sorted({value.attribute_key for value in self._placed["attribute_values"]}),
            "cross_references": [f"{item.application_code}:{item.local_id}" for item in self._placed["cross_references"]],
            **{name: [str(row.label) for row in rows] for name, rows in self._placed_authored.items()},
        }

    def kept_on_survivor(self, values_back, references_back):
        return {
            "attribute_values": sorted({value.attribute_key for value in self.values if value.pk not in values_back}),
            "links": [str(link.id) for link in self.links],
            "identifiers": [f"{item.type}:{item.value}" for item in self.identifiers],
            "cross_references": [f"{item.application_code}:{item.local_id}" for item in self.references
                                 if item.pk not in references_back],
            **{name: [str(row.label) for row in rows if row not in self._placed_authored[name]]
               for name, rows in self.authored.items()},
        }


def _choose_golden_again(party, golden_before, since):
    """Replay survivorship from the golden values before the merge over the values the
    party has held since: a value golden when it was recorded beats any subset of what
    was there then; one kept in history wins if its level is at least the current one."""
    recent = {}
    for value in db.session.scalars(select(AttributeValue).where(
            AttributeValue.party_pk == party.pk, AttributeValue.recorded_at > since).order_by(AttributeValue.pk)):
        recent.setdefault(value.attribute_key, []).append(value)
    by_key = {golden.attribute_key: golden for golden in party.golden}
    for key in set(by_key) | set(golden_before) | set(recent):
        current = db.session.get(AttributeValue, golden_before[key]) if key in golden_before else None
        for value in recent.get(key, ()):
            if current is None or value.was_golden or value.level >= current.level:
                current = value
        golden = by_key.get(key)
        if current is None:
            if golden is not None:
                party.golden.remove(golden)
            continue
        if golden is None:
            party.golden.append(GoldenValue(attribute_key=key, value=current, lookup=lookup_of(current)))
        elif golden.value_pk != current.pk:
            golden.value, golden.lookup = current, lookup_of(current)


def _move_back(model, column, pks, to_pk):
    existing = list(db.session.scalars(select(model.pk).where(model.pk.in_(pks)))) if pks else []
    if existing:
        db.session.execute(update(model).where(model.pk.in_(existing)).values({column.key: to_pk}),
                           execution_options={"synchronize_session": "fetch"})
    return existing


def _move_table_back(name, pks, to_pk):
    table = party_table(name)
    if table is None or not pks:
        return []
    db.session.execute(update(table).where(table.c.pk.in_(pks)).values(party_pk=to_pk))
    return pks
