"""The event outbox (DESIGN.md "event"): one row per fact, written with the change.

Minimal on purpose: the connectors issue builds deliveries (one event to one application,
attempts, receipts) on these rows. Each event of a party carries a per-party sequence
number, so that a receiver can order what it learns about one party.
"""

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db


class Event(db.Model):
    __tablename__ = "events"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    #: ``subject.verb``, e.g. ``document.verified``
    type: Mapped[str] = mapped_column(String(64), index=True)
    party_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sequence: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONValue)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("party_id", "sequence"),)
