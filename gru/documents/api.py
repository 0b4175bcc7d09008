"""REST API of the document vault: upload, list, read, download, verify, reuses.

Each handler loads the request, calls one service, journals, commits once and renders.
An application sees only documents of the types its service contract lists
(``document_types``) for parties of the kinds it covers; every list, read and download
is journaled (``documents:document:*``) with its purpose and case reference, and every
download is recorded as a reuse.
"""

import logging
from urllib.parse import quote

from flask import Response, g, request, stream_with_context
from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.documents import schemas
from gru.documents import services as document_service
from gru.documents.encryption import IntegrityError
from gru.documents.services import DocumentActor, MalwareRefused, UploadRequest
from gru.documents.verification import verify_document
from gru.extensions import db
from gru.rest import access

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Supporting documents (the vault)")
log = logging.getLogger(__name__)

READ = "documents:read"
WRITE = "documents:write"
VERIFY = "documents:verify"
UPLOAD_ENDPOINT = "documents.upload_document"


def document_actor():
    """The caller as the vault knows it, its rights narrowed by its service contract."""
    caller, contract = g.caller, g.caller.contract
    return DocumentActor(
        type=caller.type,
        id=caller.id,
        document_types=tuple(contract.document_types),
        party_kinds=tuple(contract.party_kinds),
        may_verify=VERIFY in caller.scopes,
        identity_actor=access.current_actor(),
    )


def _keys(*documents):
    return [f"document:{document.id}" for document in documents]


@blp.route("/document-types")
@require_scope(READ, personal_data=False)
@blp.response(200, schemas.DocumentTypeListSchema)
def document_types():
    """The catalogue of document types: retention period and attributes each certifies."""
    types = document_service.document_types().values()
    return {"items": [schemas.document_type_view(item) for item in types]}


@blp.route("/parties/<uuid:party_id>/documents", methods=["POST"], endpoint="upload_document")
@require_scope(WRITE)
@blp.arguments(schemas.UploadQuerySchema, location="query")
@blp.doc(
    requestBody={
        "required": True,
        "description": "The file itself; Content-Type must be its real type (checked from the bytes)",
        "content": {mimetype: {"schema": {"type": "string", "format": "binary"}} for mimetype in (
            "application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic")},
    }
)
@blp.response(201, schemas.DocumentSchema)
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(413, "REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, "UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def upload_document(query, party_id):
    """Upload a document for a party: streamed, checked, encrypted, stored once."""
    upload = UploadRequest(content_type=request.headers.get("Content-Type", ""),
                           content_length=request.content_length, **query)
    try:
        document = document_service.upload_document(party_id, request.stream, upload, document_actor())
    except MalwareRefused as refusal:
        # The refusal is journaled (and committed) before the error is answered.
        access.journal("documents:document:refuse", [(refusal.party.id, [f"malware:{refusal.signature}"])])
        db.session.commit()
        raise
    try:
        access.journal("documents:document:upload", [(document.party.id, _keys(document))])
        db.session.commit()
    except Exception:
        # Never a half-written document: the stored segments go with the failed transaction.
        db.session.rollback()
        document_service.discard_stored_content(document)
        raise
    location = f"{request.host_url.rstrip('/')}/api/v1/documents/{document.id}"
    return schemas.document_view(document), 201, {"Location": location}


@blp.route("/parties/<uuid:party_id>/documents", methods=["GET"])
@require_scope(READ)
@blp.arguments(schemas.DocumentListQuerySchema, location="query")
@blp.response(200, schemas.DocumentListSchema)
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
def list_documents(query, party_id):
    """The party's documents of the types the caller's contract allows."""
    party, documents = document_service.list_documents(party_id, document_actor(), query.get("type"))
    access.journal("documents:document:list", [(party.id, _keys(*documents))])
    db.session.commit()
    return {"items": [schemas.document_view(document) for document in documents]}


@blp.route("/documents/<uuid:document_id>")
@require_scope(READ)
@blp.response(200, schemas.DocumentSchema)
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
def read_document(document_id):
    """The metadata and verification state of a document."""
    document = document_service.get_document(document_id, document_actor())
    access.journal("documents:document:read", [(document.party.id, _keys(document))])
    db.session.commit()
    return schemas.document_view(document)


@blp.route("/documents/<uuid:document_id>/content")
@require_scope(READ)
@blp.doc(responses={"200": {"description": "The document's content, decrypted and authenticated",
                            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(500, "INTERNAL_SERVER_ERROR")
def download_document(document_id):
    """Download a document: journaled with its purpose and case reference, recorded as a reuse.

    Every segment is authenticated before the first byte is sent: altered content fails
    with a problem (``document-integrity``), never with altered data.
    """
    document, data_key = document_service.open_download(document_id, document_actor(), g.purpose, g.case_ref)
    access.journal("documents:document:download", [(document.party.id, _keys(document))])
    db.session.commit()

    return content_response(document, data_key)


def content_response(document, data_key):
    """The streamed answer of a download whose content was verified (API and pages)."""

    def stream():
        try:
            yield from document_service.content_of(document, data_key)
        except IntegrityError:
            # Changed between the check and the send: cut the answer short (the length
            # no longer matches), never send the altered segment.
            log.error("document %s failed its integrity check while being sent", document.id)
            raise

    headers = {
        "Content-Length": str(document.size_bytes),
        "Content-Disposition": _disposition(document),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(stream_with_context(stream()), mimetype=document.content_type, headers=headers)


def _disposition(document):
    """RFC 6266 section 4.3: an ASCII fallback and the UTF-8 name (RFC 8187)."""
    name = document.filename or f"{document.type}-{document.id}"
    fallback = name.encode("ascii", "replace").decode("ascii").replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


@blp.route("/documents/<uuid:document_id>/verification", methods=["POST"])
@require_scope(VERIFY)
@blp.arguments(schemas.VerificationSchema)
@blp.response(200, schemas.VerificationResultSchema)
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def verify(payload, document_id):
    """Mark a document verified (certifying the values it proves) or rejected, with how and why."""
    document, outcomes = verify_document(
        document_id, payload["status"], payload.get("method"), payload.get("reason"), document_actor(),
        channel="application",
    )
    changed = [key for key, outcome in outcomes.items() if outcome.status == "updated"]
    access.journal("documents:document:verify", [(document.party.id, [*_keys(document), *changed])])
    db.session.commit()
    return {"document": schemas.document_view(document),
            "attributes": {key: outcome.as_dict() for key, outcome in outcomes.items()}}


@blp.route("/parties/<uuid:party_id>/document-reuses")
@require_scope(READ)
@blp.response(200, schemas.ReuseListSchema)
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
def party_reuses(party_id):
    """Who reused the party's documents, for which procedure and purpose (DPO, the person)."""
    party, reuses = document_service.reuses_of_party(party_id, document_actor())
    access.journal("documents:reuse:list", [(party.id, [])])
    db.session.commit()
    return {"items": [schemas.reuse_view(reuse) for reuse in reuses]}

