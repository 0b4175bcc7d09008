"""Marshmallow schemas of the connectors' admin API (audience: administrators; no personal data)."""

import marshmallow as ma
from marshmallow import fields, validate

from gru.connectors.models import DELIVERY_STATUSES


class InstanceInputSchema(ma.Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    application = fields.String(required=True, metadata={"description": "code of the receiving application"})
    purpose = fields.String(load_default=None, allow_none=True)
    is_enabled = fields.Boolean(load_default=True)
    config = fields.Dict(required=True, metadata={"description": "validated by the type's schema"})


class InstanceUpdateSchema(ma.Schema):
    """Fields left out are kept; secrets sent back masked (``********``) are kept too."""

    purpose = fields.String(allow_none=True)
    is_enabled = fields.Boolean()
    config = fields.Dict()


class InstanceSchema(ma.Schema):
    name = fields.String()
    id = fields.UUID()
    type = fields.String()
    application = fields.String()
    purpose = fields.String(allow_none=True)
    is_enabled = fields.Boolean()
    is_loaded = fields.Boolean(metadata={"description": "whether its type is enabled in GRU_CONNECTORS_ENABLED"})
    config = fields.Dict(metadata={"description": "secret fields masked"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class InstanceListSchema(ma.Schema):
    items = fields.List(fields.Nested(InstanceSchema))


class TypeSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields")
    secret_fields = fields.List(fields.String())


class TypeListSchema(ma.Schema):
    items = fields.List(fields.Nested(TypeSchema))


class DeliverySchema(ma.Schema):
    id = fields.UUID()
    instance = fields.String()
    application = fields.String()
    event_id = fields.UUID()
    event_type = fields.String()
    party_id = fields.UUID()
    sequence = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    receipt = fields.Dict(allow_none=True)


class DeliveryListSchema(ma.Schema):
    items = fields.List(fields.Nested(DeliverySchema))


class DeliveryQuerySchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    party_id = fields.UUID()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class StatusSchema(ma.Schema):
    name = fields.String()
    type = fields.String()
    application = fields.String()
    is_enabled = fields.Boolean()
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer())
    lag_seconds = fields.Float(metadata={"description": "age of the oldest delivery not yet sent"})
    last_delivered_at = fields.DateTime(allow_none=True)


class StatusListSchema(ma.Schema):
    items = fields.List(fields.Nested(StatusSchema))


class ReplaySchema(ma.Schema):
    replayed = fields.Integer()
