"""Expiry and retention of documents: run by ``gru worker`` and ``gru documents``.

- **Expiry.** Once a document's expiry date has passed, the values it certified are shown
  "proof expired" in the golden record (``provenance.<key>.proof_expired``) and the event
  ``document.expired`` is recorded, so applications and agents ask for a new one.
- **Retention** (GDPR art. 5(1)(e), storage limitation). A document is purged once its
  retention period (per type, ``GRU_DOCUMENTS_RETENTION_DAYS``) has run out: its content and
  its wrapped data key are deleted, its metadata stays (values and reuses still name it).
"""

from datetime import date

from sqlalchemy import select

from gru.documents import vault
from gru.documents.models import Document
from gru.dbtypes import utcnow
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import AttributeValue, GoldenValue


def expired_document_ids(document_ids):
    """The ids among ``document_ids`` of documents whose proof has expired (one query).

    Registered as ``app.extensions["gru.proof_expired"]`` for the golden record's read.
    """
    ids = {document_id for document_id in document_ids if document_id is not None}
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Document.id).where(Document.id.in_(ids), Document.proof_expired_at.is_not(None))
    ))


def certified_keys(document):
    """Attribute keys whose golden value has this document as its proof."""
    return sorted(db.session.scalars(
        select(GoldenValue.attribute_key)
        .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk)
        .where(GoldenValue.party_pk == document.party_pk, AttributeValue.document_id == document.id)
    ))


def flag_expired_documents(today=None):
    """Flag documents whose expiry date is past; returns them. One event per document."""
    today = today or date.today()
    documents = list(db.session.scalars(
        select(Document).where(
            Document.expires_on < today, Document.proof_expired_at.is_(None), Document.purged_at.is_(None)
        ).order_by(Document.pk)
    ))
    now = utcnow()
    for document in documents:
        document.proof_expired_at = now
        record_event(db.session, "document.expired", document.party, {
            "document_id": str(document.id),
            "document_type": document.type,
            "expired_on": document.expires_on.isoformat(),
            "proof_expired": certified_keys(document),
        })
    db.session.flush()
    return documents


def documents_to_purge(today=None):
    today = today or date.today()
    return list(db.session.scalars(
        select(Document).where(Document.purge_after < today, Document.purged_at.is_(None)).order_by(Document.pk)
    ))


def purge_documents(today=None, dry_run=False):
    """Purge every document past retention (or, ``dry_run``, only say which); returns them.

    The content is removed from storage first, then the wrapped key is cleared: without
    its data key, any copy of the ciphertext left in a backup is unreadable too.
    """
    documents = documents_to_purge(today)
    if dry_run:
        return documents
    storage, now = vault().storage, utcnow()
    for document in documents:
        storage.delete(document.storage_key)
        document.wrapped_key = None
        document.kek_version = None
        document.purged_at = now
        record_event(db.session, "document.purged", document.party, {
            "document_id": str(document.id), "document_type": document.type,
        })
    db.session.flush()
    return documents
