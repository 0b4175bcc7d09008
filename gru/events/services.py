"""Recording events in the outbox, in the caller's transaction (STYLE.md habit 3).

Nothing here sends anything: a later dispatcher delivers committed events, so an event is
never told for a change that was rolled back.
"""

import re

from sqlalchemy import func, select

from gru.events.models import Event
from gru.extensions import db

EVENT_TYPE = re.compile(r"^[a-z]+\.[a-z_]+$")


def record_event(session, type_, party, data):
    """Append event ``type_`` about ``party`` with JSON ``data``; flushes, never commits.

    The sequence number is the party's previous highest plus one; the unique constraint on
    (party_id, sequence) refuses a concurrent duplicate, and that transaction then fails.
    """
    if not EVENT_TYPE.match(type_):
        raise ValueError(f"event type {type_!r} is not subject.verb")
    last = session.scalar(select(func.max(Event.sequence)).where(Event.party_id == party.id))
    event = Event(type=type_, party_id=party.id, sequence=(last or 0) + 1, data=data)
    session.add(event)
    session.flush()
    return event


def events_of(party_id, type_=None):
    query = select(Event).where(Event.party_id == party_id).order_by(Event.sequence)
    if type_:
        query = query.where(Event.type == type_)
    return list(db.session.scalars(query))
