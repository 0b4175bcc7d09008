"""Tables of the document vault: documents, their stored segments, their reuses.

A document row holds metadata, the verification state and the wrapped data key; its
content lives in the storage backend (``document_chunks`` rows for the database backend)
and is always ciphertext. Purging removes the content and the wrapped key and keeps the
row, so that the values it once certified and its reuse log still name it.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gru.dbtypes import BigIntPK, UTCDateTime, utcnow
from gru.extensions import db
from gru.identity.models import Party

STATUSES = ("pending", "verified", "rejected")
#: how a verification was done, and the certification process it stands for
METHODS = {
    "original_seen": "original_document_checked",
    "scan_checked": "official_proof_scan_checked",
    "authoritative_source": "authoritative_source",
}


class Document(db.Model):
    __tablename__ = "documents"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    segment_count: Mapped[int] = mapped_column(Integer)
    # Display name only (sanitised); never used to build a path or a storage key.
    filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    issuing_authority: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    verification_method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verification_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    verified_by_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verified_by_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # HMAC-SHA256 of the plaintext under the instance HMAC key: recognises a duplicate
    # upload without a plain hash that would confirm a guessed content.
    content_hmac: Mapped[str] = mapped_column(String(64))
    is_encrypted: Mapped[bool] = mapped_column(Boolean, default=True)
    kek_version: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    storage_backend: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_type: Mapped[str] = mapped_column(String(16))
    uploaded_by_id: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the expiry date passed and the certified values were flagged.
    proof_expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purge_after: Mapped[date] = mapped_column(Date, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    party: Mapped[Party] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'verified', 'rejected')", name="status"),
        Index("ix_documents_party_hmac", "party_pk", "content_hmac"),
    )

    @property
    def is_purged(self):
        return self.purged_at is not None

    @property
    def is_expired(self):
        return self.proof_expired_at is not None


class DocumentChunk(db.Model):
    """One stored (encrypted) segment, for the database storage backend."""

    __tablename__ = "document_chunks"

    storage_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentReuse(db.Model):
    """A document used again by an application or an agent: who, for which procedure, why."""

    __tablename__ = "document_reuses"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    document_pk: Mapped[int] = mapped_column(ForeignKey("documents.pk"), index=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(64))
    case_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[Document] = relationship(lazy="joined", innerjoin=True)
