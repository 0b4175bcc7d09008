"""Tables of the golden record: parties, appended values, golden pointers, links,
identifiers, cross-references and the change history of what is not a value.

Values are append-only: a newer value supersedes, nothing is overwritten. The
``golden_values`` table points, per party and attribute, at the value the hub holds
true, so that a read is one indexed join and not a survivorship computation.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db

PARTY_STATUSES = ("active", "merged", "erased")
LINK_KINDS = ("member_of", "represents", "guardian_of")


class Party(db.Model):
    __tablename__ = "parties"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_pk: Mapped[int | None] = mapped_column(ForeignKey("parties.pk"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merged_into: Mapped["Party | None"] = relationship(remote_side=[pk])
    golden: Mapped[list["GoldenValue"]] = relationship(
        back_populates="party", cascade="all, delete-orphan", lazy="selectin"
    )

    values: WriteOnlyMapped["AttributeValue"] = relationship(order_by="AttributeValue.pk")

    __mapper_args__ = {"version_id_col": version}

    @property
    def etag(self):
        return f'"{self.id.hex}.{self.version}"'


class AttributeValue(db.Model):
    """One recorded value of one attribute, with its provenance. Never updated."""

    __tablename__ = "attribute_values"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"))
    attribute_key: Mapped[str] = mapped_column(String(64))
    # None records that the attribute was cleared.
    value: Mapped[object | None] = mapped_column(JSONValue, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    process: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger)
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(128))
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether the value became golden when it was recorded (False: kept in history only).
    was_golden: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_attribute_values_party_key", "party_pk", "attribute_key", "pk"),)


class GoldenValue(db.Model):
    """Per party and attribute, the value the hub holds true and its lookup key."""

    __tablename__ = "golden_values"

    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), primary_key=True)
    attribute_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_pk: Mapped[int] = mapped_column(ForeignKey("attribute_values.pk"))
    # Canonical string the equality filters of GET /parties compare against.
    lookup: Mapped[str] = mapped_column(Text)

    party: Mapped[Party] = relationship(back_populates="golden")
    value: Mapped[AttributeValue] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (Index("ix_golden_values_key_lookup", "attribute_key", "lookup"),)


class Link(db.Model):
    """A dated relation from a person to another party (DESIGN.md: link)."""

    __tablename__ = "links"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    person_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    target_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Party] = relationship(foreign_keys=[person_pk], lazy="joined")
    target: Mapped[Party] = relationship(foreign_keys=[target_pk], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def etag(self):
        return f'"{self.id.hex}.{self.version}"'


class Identifier(db.Model):
    """A typed external number; a (type, value) pair belongs to one party at most."""

    __tablename__ = "identifiers"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("type", "value"),)


class CrossReference(db.Model):
    """How a business application's own record maps to the golden record."""

    __tablename__ = "cross_references"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    application_code: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("application_code", "local_id"),)


class HistoryEntry(db.Model):
    """A change of a link, identifier, cross-reference or party status.

    Changes of attribute values need no entry here: ``attribute_values`` is itself
    their append-only history, and the history service reads both.
    """

    __tablename__ = "history_entries"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[object | None] = mapped_column(JSONValue, nullable=True)
    new_value: Mapped[object | None] = mapped_column(JSONValue, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
