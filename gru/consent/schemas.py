"""What the purposes and consents APIs read and write (marshmallow), and how each is shown."""

import marshmallow as ma
from marshmallow import fields, validate

from gru.consent.models import LAWFUL_BASES, STATES
from gru.consent.services import is_in_force
from gru.identity.catalogue import CHANNELS


class PurposeInputSchema(ma.Schema):
    """A purpose of the register; the service checks every field (422 names them)."""

    code = fields.String(metadata={"description": "Code, as contract codes: ^[a-z][a-z0-9_.-]{0,63}$"})
    label = fields.String()
    description = fields.String(allow_none=True)
    lawful_basis = fields.String(metadata={"description": f"GDPR art. 6(1): one of {', '.join(LAWFUL_BASES)}"})
    data_categories = fields.List(fields.String())
    recipients = fields.List(fields.String())
    retention_days = fields.Raw(allow_none=True, metadata={"description": "Retention as a number of days..."})
    retention_text = fields.String(allow_none=True, metadata={"description": "...or as a text (one of the two)"})


class PurposeSchema(ma.Schema):
    code = fields.String()
    label = fields.String()
    description = fields.String(allow_none=True)
    lawful_basis = fields.String()
    data_categories = fields.List(fields.String())
    recipients = fields.List(fields.String())
    retention_days = fields.Integer(allow_none=True)
    retention_text = fields.String(allow_none=True)
    is_retired = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_by = fields.String()
    updated_at = fields.DateTime()
    retired_at = fields.DateTime(allow_none=True)


class PurposeListQuerySchema(ma.Schema):
    include_retired = fields.Boolean(load_default=False)


class PurposeListSchema(ma.Schema):
    items = fields.List(fields.Nested(PurposeSchema))


class ConsentQuerySchema(ma.Schema):
    history = fields.Boolean(load_default=False, metadata={"description": "Every statement, oldest first"})


class ConsentCreateSchema(ma.Schema):
    purpose = fields.String(required=True, metadata={"description": "Code of a purpose whose lawful basis is consent"})
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    text_version = fields.String(required=True, metadata={"description": "Version of the text the person saw"})
    application = fields.String(load_default=None, metadata={
        "description": "Limit the consent to one application (its code; an application: its own only)"})
    valid_until = fields.Date(load_default=None)


class ConsentAuthorSchema(ma.Schema):
    type = fields.String()
    id = fields.String()


class ConsentSchema(ma.Schema):
    id = fields.UUID()
    purpose = fields.String()
    purpose_label = fields.String(allow_none=True)
    application = fields.String(allow_none=True)
    state = fields.String()
    is_in_force = fields.Boolean(metadata={"description": "Given and not past valid_until"})
    channel = fields.String()
    author = fields.Nested(ConsentAuthorSchema)
    text_version = fields.String()
    recorded_at = fields.DateTime()
    valid_until = fields.Date(allow_none=True)


class ConsentListSchema(ma.Schema):
    party_id = fields.UUID()
    status = fields.String()
    merged_into = fields.UUID(allow_none=True, metadata={"description": "Set when the party was merged"})
    items = fields.List(fields.Nested(ConsentSchema))


def purpose_view(purpose):
    return {
        "code": purpose.code, "label": purpose.label, "description": purpose.description,
        "lawful_basis": purpose.lawful_basis, "data_categories": list(purpose.data_categories),
        "recipients": list(purpose.recipients), "retention_days": purpose.retention_days,
        "retention_text": purpose.retention_text, "is_retired": purpose.is_retired,
        "created_by": purpose.created_by, "created_at": purpose.created_at,
        "updated_by": purpose.updated_by, "updated_at": purpose.updated_at, "retired_at": purpose.retired_at,
    }


def consent_view(consent, labels):
    return {
        "id": consent.id, "purpose": consent.purpose_code, "purpose_label": labels.get(consent.purpose_code),
        "application": consent.application_code, "state": consent.state, "is_in_force": is_in_force(consent),
        "channel": consent.channel, "author": {"type": consent.author_type, "id": consent.author_id},
        "text_version": consent.text_version, "recorded_at": consent.recorded_at, "valid_until": consent.valid_until,
    }


def consent_list_view(party, consents, labels):
    return {
        "party_id": party.id, "status": party.status,
        "merged_into": party.merged_into.id if party.merged_into is not None else None,
        "items": [consent_view(consent, labels) for consent in consents],
    }
