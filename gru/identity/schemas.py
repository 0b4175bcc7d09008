"""What the identity API reads and writes, for business applications.

The representation of a party is built by :func:`party_document` from the golden
record; the schemas below load requests and document every response in OpenAPI.
"""

import marshmallow as ma
from marshmallow import fields, validate

from gru.identity.catalogue import CHANNELS, LEVELS, PARTY_KINDS
from gru.identity.services.links import MEMBER_ROLES, TARGET_KINDS


class ProvenanceInputMixin:
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    process = fields.String(required=True, validate=validate.Length(min=1, max=64))
    level = fields.Integer(validate=validate.OneOf(LEVELS), metadata={"description": "Must match the process"})
    document_id = fields.UUID(allow_none=True, metadata={"description": "Supporting document"})


class PartyCreateSchema(ProvenanceInputMixin, ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PARTY_KINDS))
    attributes = fields.Dict(
        keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
        metadata={"description": "Attribute key to raw value; null clears the attribute"},
    )
    duplicate_check = fields.String(
        load_default="none", validate=validate.OneOf(("none", "match", "check_only")),
        metadata={"description": "match: 409 when the party exists; check_only: answer the candidates, create nothing"},
    )
    on_possible = fields.String(
        load_default="review", validate=validate.OneOf(("review", "refuse")),
        metadata={"description": "With duplicate_check match, a possible duplicate is created and queued for review, or refused"},
    )


class PartyUpdateSchema(ProvenanceInputMixin, ma.Schema):
    attributes = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class AuthorSchema(ma.Schema):
    type = fields.String()
    id = fields.String()


class ProvenanceSchema(ma.Schema):
    level = fields.Integer()
    process = fields.String()
    channel = fields.String()
    author = fields.Nested(AuthorSchema)
    document_id = fields.UUID(allow_none=True)
    recorded_at = fields.DateTime()
    is_presumed = fields.Boolean(metadata={"description": "birth_date only: day or month unknown (00)"})
    proof_expired = fields.Boolean(metadata={"description": "Present and true when the supporting document has expired"})


class IdentifierSchema(ma.Schema):
    type = fields.String()
    value = fields.String()


class CrossReferenceSchema(ma.Schema):
    application = fields.String()
    local_id = fields.String()


class PartySchema(ma.Schema):
    id = fields.UUID()
    kind = fields.String()
    status = fields.String()
    merged_into = fields.UUID(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    attributes = fields.Dict(keys=fields.String(), values=fields.Raw())
    provenance = fields.Dict(keys=fields.String(), values=fields.Nested(ProvenanceSchema))
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    cross_references = fields.List(fields.Nested(CrossReferenceSchema))


class AttributeOutcomeSchema(ma.Schema):
    status = fields.String(
        validate=validate.OneOf(("updated", "unchanged", "kept_lower_level", "invalid", "forbidden"))
    )
    reason = fields.String()


class PartyWriteResultSchema(ma.Schema):
    party = fields.Nested(PartySchema)
    attributes = fields.Dict(keys=fields.String(), values=fields.Nested(AttributeOutcomeSchema))


class PartyListQuerySchema(ma.Schema):
    kind = fields.String(validate=validate.OneOf(PARTY_KINDS))
    where = fields.List(
        fields.String(validate=validate.Length(min=3, max=1000)),
        metadata={"description": "Equality filter on a golden value, ATTRIBUTE:VALUE; repeatable"},
    )
    xref = fields.String(validate=validate.Length(min=3, max=200), metadata={"description": "APPLICATION:LOCAL_ID"})
    identifier = fields.String(validate=validate.Length(min=3, max=100), metadata={"description": "TYPE:VALUE"})
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100))


class PageQuerySchema(ma.Schema):
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100))


class PartyPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PartySchema))
    next_cursor = fields.String(allow_none=True)


class HistoryEntrySchema(ma.Schema):
    recorded_at = fields.DateTime()
    subject = fields.String(metadata={"description": "attribute, link, identifier or xref"})
    key = fields.String()
    action = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    channel = fields.String()
    process = fields.String()
    level = fields.Integer()
    author = fields.Nested(AuthorSchema)
    document_id = fields.UUID(allow_none=True)


class HistoryPageSchema(ma.Schema):
    items = fields.List(fields.Nested(HistoryEntrySchema))
    next_cursor = fields.String(allow_none=True)


class LinkCreateSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(TARGET_KINDS)))
    person_id = fields.UUID(required=True)
    target_id = fields.UUID(required=True)
    role = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": f"member_of: one of {', '.join(MEMBER_ROLES)}; otherwise free text"},
    )
    starts_on = fields.Date(metadata={"description": "Default: today"})
    ends_on = fields.Date(allow_none=True)
    channel = fields.String(load_default="application", validate=validate.OneOf(CHANNELS))


class LinkEndSchema(ma.Schema):
    ends_on = fields.Date(metadata={"description": "Default: today"})
    channel = fields.String(load_default="application", validate=validate.OneOf(CHANNELS))


class LinkSchema(ma.Schema):
    id = fields.UUID()
    kind = fields.String()
    person_id = fields.UUID()
    target_id = fields.UUID()
    role = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    version = fields.Integer()


class LinkListSchema(ma.Schema):
    items = fields.List(fields.Nested(LinkSchema))


class IdentifierCreateSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=16))
    value = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(load_default="application", validate=validate.OneOf(CHANNELS))


class CrossReferenceCreateSchema(ma.Schema):
    application = fields.String(
        validate=validate.Length(min=1, max=64), metadata={"description": "Default: the calling application"}
    )
    local_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    channel = fields.String(load_default="application", validate=validate.OneOf(CHANNELS))


def provenance_summary(value):
    """What a read shows of a value's provenance.

    ``value`` is an :class:`AttributeValue` or a row with the same names (the fast read of
    :mod:`gru.identity.services.records`).
    """
    from gru.identity.validators import is_presumed_birth_date

    summary = {
        "level": value.level,
        "process": value.process,
        "channel": value.channel,
        "author": {"type": value.author_type, "id": value.author_id},
        "document_id": value.document_id,
        "recorded_at": value.recorded_at,
    }
    if value.attribute_key == "birth_date":
        summary["is_presumed"] = is_presumed_birth_date(value.value)
    return summary


def party_document(party, identifiers=(), cross_references=()):
    """The golden record as the API shows it: golden values and their provenance."""
    attributes, provenance = {}, {}
    for golden in party.golden:
        value = golden.value
        if value.value is None:
            continue
        attributes[golden.attribute_key] = value.value
        provenance[golden.attribute_key] = provenance_summary(value)
    flag_expired_proofs(provenance)
    return {
        "id": party.id,
        "kind": party.kind,
        "status": party.status,
        "merged_into": party.merged_into.id if party.merged_into_pk else None,
        "version": party.version,
        "created_at": party.created_at,
        "updated_at": party.updated_at,
        "attributes": attributes,
        "provenance": provenance,
        "identifiers": [{"type": item.type, "value": item.value} for item in identifiers],
        "cross_references": [
            {"application": item.application_code, "local_id": item.local_id} for item in cross_references
        ],
    }


def flag_expired_proofs(provenance):
    """Mark values whose supporting document has expired (``proof_expired``).

    The vault registers ``app.extensions["gru.proof_expired"]``: document ids -> the
    expired ones (one query, only when some value has a document).
    """
    from flask import current_app

    resolve = current_app.extensions.get("gru.proof_expired")
    ids = {summary["document_id"] for summary in provenance.values() if summary["document_id"] is not None}
    if resolve is None or not ids:
        return
    expired = resolve(ids)
    for summary in provenance.values():
        if summary["document_id"] in expired:
            summary["proof_expired"] = True


def link_document(link):
    return {
        "id": link.id,
        "kind": link.kind,
        "person_id": link.person.id,
        "target_id": link.target.id,
        "role": link.role,
        "starts_on": link.starts_on,
        "ends_on": link.ends_on,
        "version": link.version,
    }
