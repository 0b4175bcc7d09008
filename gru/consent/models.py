"""Tables of the consent package: the purposes register and the consents.

A purpose is one processing activity of the register of processing (GDPR art. 30(1)):
its code, label, lawful basis (art. 6(1)), categories of data, recipients and how long
the data is kept. A retired purpose stays in the register (its consents still name it).

A consent row is one statement of a party about one purpose (and, optionally, one
application): given or withdrawn, with its evidence (channel, author, version of the text
the person agreed to) and time (GDPR art. 7(1): the controller must be able to show the
consent). Rows are appended, never changed: the current state of a (party, purpose,
application) is its latest row. The only update a row ever gets is its ``party_pk``,
when a merge moves it to the survivor and an unmerge moves it back (issue 6).
"""

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db

#: GDPR art. 6(1)(a) to (f), in the order of the article
LAWFUL_BASES = ("consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests")
STATES = ("given", "withdrawn")


class Purpose(db.Model):
    __tablename__ = "purposes"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    lawful_basis: Mapped[str] = mapped_column(String(32))
    #: categories of personal data processed (art. 30(1)(c)), as short texts
    data_categories: Mapped[list] = mapped_column(JSONValue)
    #: categories of recipients (art. 30(1)(d))
    recipients: Mapped[list] = mapped_column(JSONValue)
    #: how long the data is kept (art. 30(1)(f)): a number of days, or a text when the
    #: period is not a fixed duration ("until the end of the school year")
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retention_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "lawful_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', "
            "'legitimate_interests')", name="lawful_basis"),
        CheckConstraint("retention_days IS NOT NULL OR retention_text IS NOT NULL", name="retention"),
    )

    @property
    def is_retired(self):
        return self.retired_at is not None


class Consent(db.Model):
    __tablename__ = "consents"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"))
    purpose_code: Mapped[str] = mapped_column(ForeignKey("purposes.code"))
    #: the application the consent is limited to (its code); None: the purpose as a whole
    application_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(128))
    #: version of the text the person agreed to or withdrew from (e.g. ``newsletter-2026-01``)
    text_version: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        CheckConstraint("state IN ('given', 'withdrawn')", name="state"),
        Index("ix_consents_party_purpose", "party_pk", "purpose_code", "pk"),
    )
