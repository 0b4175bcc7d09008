"""Recording events in the outbox, in the caller's transaction (STYLE.md habit 3).

Nothing here sends anything: a later dispatcher delivers committed events, so an event is
never told for a change that was rolled back.

Signal ``events recorded`` (STYLE.md habit 8): the functions registered with
:func:`on_events_recorded` are called by :func:`record_event` and :func:`record_events`
with ``(session, recorded)``, ``recorded`` a list of :class:`RecordedEvent`, in the same
transaction, after the rows are flushed. The connectors package registers its fan-out
there (one delivery per subscribing connector instance), so that a rolled-back change
leaves neither event nor delivery. A listener must not commit.
"""

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from gru.bulk_sql import insert_returning_pks
from gru.dbtypes import utcnow
from gru.events.models import Event
from gru.extensions import db

EVENT_TYPE = re.compile(r"^[a-z]+\.[a-z_]+$")

#: every event type the hub records, and who records it
EVENT_TYPES = {
    "party.created": "identity: a party was created (data: kind, attributes set)",
    "party.updated": "identity: golden values changed (data: attributes changed)",
    "party.merged": "identity: the party was merged into another (data: merged_into)",
    "party.unmerged": "identity: a merge of the party was undone (data: survivor_id, merged_id, merge_id)",
    "party.erased": "identity: the party was erased (GDPR art. 17)",
    "link.created": "identity: a link was created (one event per party of the link)",
    "link.ended": "identity: a link was given an end date (one event per party of the link)",
    "identifier.changed": "identity: an identifier was added or removed (data: type, action)",
    "xref.changed": "identity: a cross-reference was added or removed (data: application, action)",
    "document.verified": "documents: a document was verified",
    "document.rejected": "documents: a document was rejected",
    "document.expired": "documents: a document's proof expired",
    "document.purged": "documents: a document was purged at the end of its retention",
    "consent.given": "consent: a consent was given (data: consent_id, purpose, application, text_version, valid_until)",
    "consent.withdrawn": "consent: a consent was withdrawn (data: consent_id, purpose, application, text_version)",
}

_listeners = []


@dataclass(frozen=True)
class RecordedEvent:
    """An event just recorded, as the listeners see it (no ORM object: bulk paths have none)."""

    pk: int
    id: uuid.UUID
    type: str
    party_id: uuid.UUID
    party_kind: str
    sequence: int
    data: dict


def on_events_recorded(listener):
    """Register ``listener(session, recorded)``; registering the same function twice is a no-op."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _notify(session, recorded):
    for listener in list(_listeners):
        listener(session, recorded)


def record_event(session, type_, party, data):
    """Append event ``type_`` about ``party`` with JSON ``data``; flushes, never commits.

    The sequence number is the party's previous highest plus one; the unique constraint on
    (party_id, sequence) refuses a concurrent duplicate, and that transaction then fails.
    """
    if not EVENT_TYPE.match(type_):
        raise ValueError(f"event type {type_!r} is not subject.verb")
    last = session.scalar(select(func.max(Event.sequence)).where(Event.party_id == party.id))
    event = Event(id=uuid.uuid4(), type=type_, party_id=party.id, sequence=(last or 0) + 1, data=data)
    session.add(event)
    session.flush()
    _notify(session, [RecordedEvent(event.pk, event.id, type_, party.id, party.kind, event.sequence, data)])
    return event


def record_events(session, items, *, new_parties=False):
    """Append many events in one bulk INSERT (:mod:`gru.bulk_sql`); ``items`` are ``(type, party_id, party_kind, data)``.

    The bulk twin of :func:`record_event` (for :func:`gru.identity.services.parties.create_parties`).
    With ``new_parties`` the parties were created in this transaction and have no event
    yet, so sequences start at 1 without a look-up. Returns the :class:`RecordedEvent` list.
    """
    if not items:
        return []
    for type_, *_ in items:
        if not EVENT_TYPE.match(type_):
            raise ValueError(f"event type {type_!r} is not subject.verb")
    session.flush()
    party_ids = {party_id for _, party_id, _, _ in items}
    last = {} if new_parties else dict(session.execute(
        select(Event.party_id, func.max(Event.sequence)).where(Event.party_id.in_(party_ids)).group_by(Event.party_id)
    ).all())
    now = utcnow()
    rows = []
    for type_, party_id, _kind, data in items:
        last[party_id] = (last.get(party_id) or 0) + 1
        rows.append({"id": uuid.uuid4(), "type": type_, "party_id": party_id, "sequence": last[party_id],
                     "data": data, "occurred_at": now})
    pks = insert_returning_pks(session.connection(), Event.__table__, rows)
    recorded = [
        RecordedEvent(pk, row["id"], row["type"], row["party_id"], kind, row["sequence"], row["data"])
        for pk, row, (_, _, kind, _) in zip(pks, rows, items)
    ]
    _notify(session, recorded)
    return recorded


def events_of(party_id, type_=None):
    query = select(Event).where(Event.party_id == party_id).order_by(Event.sequence)
    if type_:
        query = query.where(Event.type == type_)
    return list(db.session.scalars(query))
