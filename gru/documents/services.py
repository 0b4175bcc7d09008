"""Use cases of the vault: upload, read, list, download and the log of reuses.

"Tell us once" (DESIGN.md): a document is stored once per party, encrypted with its own
data key (envelope encryption, :mod:`gru.documents.encryption`), and found again by every
application whose service contract allows its type. Services flush, never commit; the
edge commits once. A failed upload leaves nothing behind: the stored segments are removed
and the transaction rolled back.
"""

import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import sha256

from flask import current_app
from sqlalchemy import select

from gru.documents import vault
from gru.documents.checks import (
    SNIFF_BYTES,
    ClamdScanner,
    MalwareFound,
    TooLarge,
    check_declared_type,
    display_filename,
)
from gru.documents.encryption import (
    SEGMENT_SIZE,
    STORED_SEGMENT_SIZE,
    SegmentEncryptor,
    decrypt_segments,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from gru.documents.models import Document, DocumentReuse
from gru.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gru.extensions import db
from gru.identity.models import Party
from gru.dbtypes import utcnow

log = logging.getLogger(__name__)
READ_SIZE = SEGMENT_SIZE


@dataclass(frozen=True)
class DocumentActor:
    """Who acts on documents, and what their rights cover (None: everything).

    For an application the edge fills these from its service contract: the document types
    it may see (``document_types``), the party kinds, whether it may verify.
    """

    type: str
    id: str
    document_types: tuple | None = None
    party_kinds: tuple | None = None
    may_verify: bool = True
    #: the identity actor that records certified values on a verification
    identity_actor: object = None

    def check_type(self, type_):
        if self.document_types is not None and type_ not in self.document_types:
            raise Forbidden(f"The caller's contract does not cover documents of type {type_}.")

    def check_kind(self, kind):
        if self.party_kinds is not None and kind not in self.party_kinds:
            raise Forbidden(f"The caller's contract does not cover parties of kind {kind}.")


@dataclass
class UploadRequest:
    type: str
    content_type: str
    issued_on: date | None = None
    expires_on: date | None = None
    issuing_authority: str | None = None
    note: str | None = None
    filename: str | None = None
    content_length: int | None = None


class MalwareRefused(MalwareFound):
    """An infected upload, refused; ``document`` tells the edge what to journal."""

    def __init__(self, detail, party, signature):
        super().__init__(detail)
        self.party, self.signature = party, signature


def document_types():
    return vault().types


def get_party(party_id):
    party = db.session.scalar(select(Party).where(Party.id == party_id))
    if party is None:
        raise NotFound("No party has this id.")
    return party


def get_document(document_id, actor=None):
    """The document (purged ones too: their metadata stays); 404 when none, 403 when the
    actor's contract does not cover its type or its party's kind."""
    document = db.session.scalar(select(Document).where(Document.id == document_id))
    if document is None:
        raise NotFound("No document has this id.")
    if actor is not None:
        actor.check_kind(document.party.kind)
        actor.check_type(document.type)
    return document


def retention_end(type_, expires_on, today):
    """Retention runs from the document's expiry date when it has one, else from upload."""
    return (expires_on or today) + timedelta(days=vault().types[type_].retention_days)


def _check_request(upload, party, actor):
    errors = {}
    types = vault().types
    if upload.type not in types:
        errors["type"] = [f"Unknown document type; expected one of {', '.join(types)}."]
    elif party.kind not in types[upload.type].kinds:
        errors["type"] = [f"A {upload.type} does not apply to a {party.kind}."]
    if upload.issued_on and upload.expires_on and upload.expires_on < upload.issued_on:
        errors["expires_on"] = ["The expiry date is before the issue date."]
    for name, limit in (("issuing_authority", 200), ("note", 2000)):
        value = getattr(upload, name)
        if value is not None and (len(value) > limit or not value.strip()):
            errors[name] = [f"A text of 1 to {limit} characters."]
    if errors:
        raise ValidationFailed(errors)
    actor.check_kind(party.kind)
    actor.check_type(upload.type)
    if party.status != "active":
        raise ValidationFailed({"party": [f"This party is {party.status}: no document can be added."]})
    limit = vault().max_bytes
    if upload.content_length is not None and upload.content_length > limit:
        raise TooLarge(f"The document is {upload.content_length} bytes; the limit is {limit}.")


class _Intake:
    """Reads the request stream once: size limit, type sniffing, HMAC, scan, segmenting."""

    def __init__(self, stream, upload, limit, encryptor, hmac_key, scanner):
        self.stream, self.upload, self.limit = stream, upload, limit
        self.encryptor, self.scanner = encryptor, scanner
        self.mac = hmac.new(hmac_key, digestmod=sha256)
        self.size = 0
        self.content_type = None

    def _chunks(self):
        while True:
            chunk = self.stream.read(READ_SIZE)
            if not chunk:
                return
            self.size += len(chunk)
            if self.size > self.limit:
                raise TooLarge(f"The document is larger than the limit of {self.limit} bytes.")
            self.mac.update(chunk)
            if self.scanner is not None:
                self.scanner.feed(chunk)
            yield chunk

    def segments(self):
        """Stored segments; each plaintext segment is sealed once the next byte is known."""
        buffer = bytearray()
        for chunk in self._chunks():
            buffer += chunk
            if self.content_type is None and len(buffer) >= SNIFF_BYTES:
                self.content_type = check_declared_type(self.upload.content_type, bytes(buffer[:SNIFF_BYTES]))
            while len(buffer) > SEGMENT_SIZE:
                yield self.encryptor.seal(bytes(buffer[:SEGMENT_SIZE]), is_last=False)
                del buffer[:SEGMENT_SIZE]
        if self.size == 0:
            raise ValidationFailed({"content": ["The document is empty."]})
        if self.content_type is None:
            self.content_type = check_declared_type(self.upload.content_type, bytes(buffer))
        yield self.encryptor.seal(bytes(buffer), is_last=True)


def upload_document(party_id, stream, upload, actor, today=None):
    """Store the document read from ``stream`` for a party; returns the new Document.

    The stream is read in segments (never whole), encrypted as it is read and written to
    the storage backend. 413 past ``GRU_DOCUMENTS_MAX_BYTES``, 415 when the bytes are not
    of the declared type, 409 for a duplicate (same content for the same party, known by
    its HMAC), 422 when clamd finds malware (:class:`MalwareRefused`).
    """
    party = get_party(party_id)
    _check_request(upload, party, actor)
    the_vault = vault()
    document_id = uuid.uuid4()
    storage_key = uuid.uuid4().hex
    data_key = new_data_key() if the_vault.is_encrypted else None
    scanner = ClamdScanner(the_vault.clamd, the_vault.clamd_timeout) if the_vault.clamd else None
    hmac_key = current_app.extensions["gru.keyring"].hmac_key
    intake = _Intake(stream, upload, the_vault.max_bytes, SegmentEncryptor(document_id, data_key), hmac_key, scanner)
    try:
        count = the_vault.storage.write(storage_key, intake.segments())
        signature = scanner.result() if scanner is not None else None
        if signature is not None:
            raise MalwareRefused(f"The document contains malware ({signature}); it was not stored.", party, signature)
        content_hmac = intake.mac.hexdigest()
        existing = db.session.scalar(
            select(Document.id).where(
                Document.party_pk == party.pk, Document.content_hmac == content_hmac, Document.purged_at.is_(None)
            )
        )
        if existing is not None:
            raise Conflict("This party already has this document.", existing_document_id=str(existing))
        version = the_vault.keys.current_version() if data_key is not None else None
        today = today or date.today()
        document = Document(
            id=document_id,
            party_pk=party.pk,
            party=party,
            type=upload.type,
            content_type=intake.content_type,
            size_bytes=intake.size,
            segment_count=count,
            filename=display_filename(upload.filename),
            issued_on=upload.issued_on,
            expires_on=upload.expires_on,
            issuing_authority=upload.issuing_authority,
            note=upload.note,
            status="pending",
            content_hmac=content_hmac,
            is_encrypted=data_key is not None,
            kek_version=version,
            wrapped_key=(
                wrap_data_key(the_vault.keys.key(version), version, document_id, data_key) if data_key else None
            ),
            storage_backend=the_vault.storage.name,
            storage_key=storage_key,
            uploaded_by_type=actor.type,
            uploaded_by_id=actor.id,
            purge_after=retention_end(upload.type, upload.expires_on, today),
        )
        db.session.add(document)
        db.session.flush()
    except BaseException:
        if scanner is not None:
            scanner.close()
        discard_content(the_vault.storage, storage_key)
        raise
    return document


def discard_content(storage, storage_key):
    """Remove stored segments after a failure; a failure to remove is logged, not raised."""
    try:
        storage.delete(storage_key)
    except Exception as error:  # noqa: BLE001 - the original failure matters more
        log.warning("could not remove the content of a failed upload (%s)", error.__class__.__name__)


def discard_stored_content(document):
    """After the upload's transaction failed: remove what the storage backend holds."""
    discard_content(vault().storage, document.storage_key)


def data_key_of(document):
    if document.is_purged:
        raise NotFound("The content of this document was purged at the end of its retention period.")
    if not document.is_encrypted:
        return None
    keys = vault().keys
    return unwrap_data_key(keys.key(document.kek_version), document.kek_version, document.id, document.wrapped_key)


def stored_segment_size(document):
    return STORED_SEGMENT_SIZE if document.is_encrypted else SEGMENT_SIZE


def content_of(document, data_key=None):
    """Yield the plaintext of a document, segment by segment, every segment authenticated."""
    if document.is_purged:
        raise NotFound("The content of this document was purged at the end of its retention period.")
    data_key = data_key if data_key is not None else data_key_of(document)
    stored = vault().storage.read(document.storage_key, stored_segment_size(document))
    return decrypt_segments(document.id, data_key, stored, document.segment_count)


def verify_content(document):
    """Decrypt the whole document without keeping it: raises IntegrityError on any change.

    A download first checks every segment, so that an altered document fails with a clear
    error before the first byte is sent, rather than in the middle of the answer.
    Returns the data key, for the streaming pass.
    """
    data_key = data_key_of(document)
    for _ in content_of(document, data_key):
        pass
    return data_key


def list_documents(party_id, actor, type_=None):
    """The party's documents the actor may see, newest first (purged ones left out)."""
    party = get_party(party_id)
    actor.check_kind(party.kind)
    query = select(Document).where(Document.party_pk == party.pk, Document.purged_at.is_(None))
    if type_:
        actor.check_type(type_)
        query = query.where(Document.type == type_)
    elif actor.document_types is not None:
        query = query.where(Document.type.in_(actor.document_types))
    return party, list(db.session.scalars(query.order_by(Document.uploaded_at.desc(), Document.pk.desc())))


def open_download(document_id, actor, purpose, case_ref):
    """Check a download and record it as a reuse; returns ``(document, data_key)``.

    The content is verified here, before anything is journaled or sent.
    """
    document = get_document(document_id, actor)
    data_key = verify_content(document)
    record_reuse(document, actor, purpose, case_ref)
    return document, data_key


def record_reuse(document, actor, purpose, case_ref):
    """GDPR art. 15(1)(c): the person and the DPO can see who used the document, and why."""
    reuse = DocumentReuse(
        document_pk=document.pk, document=document, party_pk=document.party_pk, actor_type=actor.type,
        actor_id=actor.id, purpose=purpose, case_ref=case_ref, reused_at=utcnow(),
    )
    db.session.add(reuse)
    db.session.flush()
    return reuse


def reuses_of_party(party_id, actor=None):
    """Every reuse of the party's documents, newest first (for the DPO and the person)."""
    party = get_party(party_id)
    query = (
        select(DocumentReuse)
        .join(Document, Document.pk == DocumentReuse.document_pk)
        .where(DocumentReuse.party_pk == party.pk)
        .order_by(DocumentReuse.reused_at.desc(), DocumentReuse.pk.desc())
    )
    if actor is not None:
        actor.check_kind(party.kind)
        if actor.document_types is not None:
            query = query.where(Document.type.in_(actor.document_types))
    return party, list(db.session.scalars(query))


def agent_actor(login):
    """An active agent acting from the command line (every document type and kind)."""
    from gru.auth.agents import get_agent

    agent = get_agent((login or "").strip().lower())
    if agent is None or not agent.is_active:
        raise Forbidden(f"No active agent has the login {login!r}.")
    return DocumentActor(type="agent", id=agent.login)


def journal_agent_access(actor, action, party_id, keys, purpose, case_ref=None):
    """The journal entry of a command-line read or change (GDPR art. 5(2)), as the API writes."""
    from gru.audit.journal import record_accesses

    record_accesses(db.session, [{
        "actor_type": actor.type, "actor_id": actor.id, "action": action, "party_id": str(party_id),
        "attribute_keys": list(keys), "purpose": purpose, "case_ref": case_ref,
    }])
