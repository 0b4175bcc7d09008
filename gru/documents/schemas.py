"""What the documents API reads and writes (marshmallow), and how a document is shown."""

import marshmallow as ma
from marshmallow import fields, validate

from gru.documents.models import METHODS
from gru.documents.verification import STATUSES


class UploadQuerySchema(ma.Schema):
    """Metadata of an upload, in the query string: the body is the file itself."""

    type = fields.String(required=True, metadata={"description": "Document type code (GET /document-types)"})
    issued_on = fields.Date(load_default=None)
    expires_on = fields.Date(load_default=None)
    issuing_authority = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    filename = fields.String(
        load_default=None, validate=validate.Length(max=1000),
        metadata={"description": "Shown back only; never used as a path"},
    )


class DocumentListQuerySchema(ma.Schema):
    type = fields.String(load_default=None)


class VerificationSchema(ma.Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    method = fields.String(load_default=None, validate=validate.OneOf(list(METHODS)),
                           metadata={"description": "How it was checked (required to verify)"})
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class ActorSchema(ma.Schema):
    type = fields.String()
    id = fields.String()


class VerificationStateSchema(ma.Schema):
    method = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    by = fields.Nested(ActorSchema, allow_none=True)
    at = fields.DateTime(allow_none=True)


class DocumentSchema(ma.Schema):
    id = fields.UUID()
    party_id = fields.UUID()
    type = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    filename = fields.String(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    issuing_authority = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    status = fields.String()
    verification = fields.Nested(VerificationStateSchema, allow_none=True)
    is_proof_expired = fields.Boolean()
    uploaded_by = fields.Nested(ActorSchema)
    uploaded_at = fields.DateTime()
    purge_after = fields.Date()
    is_purged = fields.Boolean()


class DocumentListSchema(ma.Schema):
    items = fields.List(fields.Nested(DocumentSchema))


class VerificationResultSchema(ma.Schema):
    document = fields.Nested(DocumentSchema)
    attributes = fields.Dict(metadata={"description": "Per certified attribute: the outcome of the write"})


class DocumentTypeSchema(ma.Schema):
    code = fields.String()
    label_fr = fields.String()
    kinds = fields.List(fields.String())
    retention_days = fields.Integer()
    certifies = fields.List(fields.String())


class DocumentTypeListSchema(ma.Schema):
    items = fields.List(fields.Nested(DocumentTypeSchema))


class ReuseSchema(ma.Schema):
    document_id = fields.UUID()
    document_type = fields.String()
    actor = fields.Nested(ActorSchema)
    purpose = fields.String()
    case_ref = fields.String(allow_none=True)
    reused_at = fields.DateTime()


class ReuseListSchema(ma.Schema):
    items = fields.List(fields.Nested(ReuseSchema))


def document_view(document):
    verification = None
    if document.status != "pending":
        verification = {
            "method": document.verification_method,
            "reason": document.verification_reason,
            "by": {"type": document.verified_by_type, "id": document.verified_by_id},
            "at": document.verified_at,
        }
    return {
        "id": document.id,
        "party_id": document.party.id,
        "type": document.type,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "filename": document.filename,
        "issued_on": document.issued_on,
        "expires_on": document.expires_on,
        "issuing_authority": document.issuing_authority,
        "note": document.note,
        "status": document.status,
        "verification": verification,
        "is_proof_expired": document.is_expired,
        "uploaded_by": {"type": document.uploaded_by_type, "id": document.uploaded_by_id},
        "uploaded_at": document.uploaded_at,
        "purge_after": document.purge_after,
        "is_purged": document.is_purged,
    }


def reuse_view(reuse):
    return {
        "document_id": reuse.document.id,
        "document_type": reuse.document.type,
        "actor": {"type": reuse.actor_type, "id": reuse.actor_id},
        "purpose": reuse.purpose,
        "case_ref": reuse.case_ref,
        "reused_at": reuse.reused_at,
    }


def document_type_view(document_type):
    return {
        "code": document_type.code,
        "label_fr": document_type.label_fr,
        "kinds": list(document_type.kinds),
        "retention_days": document_type.retention_days,
        "certifies": list(document_type.certifies),
    }
