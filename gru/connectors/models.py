"""Tables of the connectors: configured instances and deliveries (DESIGN.md "delivery").

A connector *type* is a class (:mod:`gru.connectors.registry`); an *instance* is a row
here: one configured connection to one business application, its configuration stored
encrypted (envelope encryption under the instance key-encryption keys, :mod:`gru.crypto`).
A *delivery* is one event to one instance: attempts, next try, status, last error, receipt.
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db

#: pending: never tried; retrying: failed with a retryable error, next try at next_attempt_at;
#: delivered: the receiver accepted it; skipped: nothing the application may read changed,
#: nothing was sent; dead: failed for good (a 4xx, or retries past the horizon), replayable
DELIVERY_STATUSES = ("pending", "retrying", "delivered", "skipped", "dead")
#: statuses of a delivery still to be sent: they hold back later events of the same party
OPEN_STATUSES = ("pending", "retrying")


class ConnectorInstance(db.Model):
    __tablename__ = "connector_instances"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: the connector type, a name of the ``gru.connectors`` entry-point group
    type: Mapped[str] = mapped_column(String(64))
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.pk"), index=True)
    #: purpose journaled for deliveries; default: the contract's first purpose
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    #: ``nonce || AES-256-GCM(data key, configuration JSON)``, bound to the instance id
    config_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", lazy="joined")


class Delivery(db.Model):
    __tablename__ = "deliveries"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    instance_pk: Mapped[int] = mapped_column(ForeignKey("connector_instances.pk", ondelete="CASCADE"))
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk"))
    #: copied from the event, so that ordering per (instance, party) is one index range
    party_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: retries stop past this time (created_at, or the last replay, + GRU_CONNECTORS_RETRY_HORIZON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: a worker's claim: others leave the delivery alone until then (a killed worker's
    #: claims lapse, and the delivery is sent again: at least once)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    receipt: Mapped[dict | None] = mapped_column(JSONValue, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    instance = relationship(ConnectorInstance, lazy="joined")
    event = relationship("Event", lazy="joined")

    __table_args__ = (
        UniqueConstraint("instance_pk", "event_pk"),
        CheckConstraint("status IN ('pending', 'retrying', 'delivered', 'skipped', 'dead')", name="status"),
        Index("ix_deliveries_chain", "instance_pk", "party_id", "sequence"),
        Index("ix_deliveries_due", "instance_pk", "next_attempt_at",
              postgresql_where=text("status IN ('pending', 'retrying')"),
              sqlite_where=text("status IN ('pending', 'retrying')")),
        Index("ix_deliveries_instance_status", "instance_pk", "status"),
    )
