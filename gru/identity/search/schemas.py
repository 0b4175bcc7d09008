"""What the search, match, duplicate and merge endpoints read and write."""

import marshmallow as ma
from marshmallow import fields, validate

from gru.identity.catalogue import PARTY_KINDS
from gru.identity.schemas import PartySchema

DECISIONS = ("match", "possible", "none")


class SearchQuerySchema(ma.Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200),
                      metadata={"description": "Names in any order, typos and missing accents tolerated"})
    birth_date = fields.String(metadata={"description": "YYYY-MM-DD, 00 for an unknown day or month: raises the score"})
    kind = fields.String(validate=validate.OneOf(PARTY_KINDS))
    commune = fields.String(validate=validate.Length(equal=5),
                            metadata={"description": "INSEE code of the birth place or the address: raises the score"})
    limit = fields.Integer(validate=validate.Range(min=1, max=100))


class SearchHitSchema(ma.Schema):
    party = fields.Nested(PartySchema)
    score = fields.Float()
    reasons = fields.List(fields.Dict(), metadata={"description": "Per query token: field, agreement, similarity"})


class SearchResultSchema(ma.Schema):
    items = fields.List(fields.Nested(SearchHitSchema))


class MatchRequestSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PARTY_KINDS))
    attributes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                             metadata={"description": "The identity pivot or part of it; an organisation's name and numbers"})
    limit = fields.Integer(validate=validate.Range(min=1, max=50))


class CandidateSchema(ma.Schema):
    party = fields.Nested(PartySchema)
    score = fields.Float()
    weight = fields.Float()
    decision = fields.String(validate=validate.OneOf(DECISIONS))
    explanation = fields.Dict(metadata={"description": "Per field: agreement level and weight"})


class MatchResultSchema(ma.Schema):
    decision = fields.String(validate=validate.OneOf(DECISIONS), metadata={"description": "Of the best candidate"})
    candidates = fields.List(fields.Nested(CandidateSchema))


class DuplicateCheckResultSchema(MatchResultSchema):
    """``POST /parties`` with ``duplicate_check: check_only``: nothing was created."""

    created = fields.Boolean()


class SuspicionSchema(ma.Schema):
    id = fields.UUID()
    status = fields.String()
    score = fields.Float()
    decision = fields.String()
    origin = fields.String()
    explanation = fields.Dict()
    locked_by = fields.String(allow_none=True)
    locked_until = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    parties = fields.List(fields.Nested(PartySchema))


class SuspicionPageSchema(ma.Schema):
    items = fields.List(fields.Nested(SuspicionSchema))
    next_cursor = fields.String(allow_none=True)


class SuspicionListQuerySchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(("open", "not_duplicate", "merged")))
    cursor = fields.String()
    limit = fields.Integer(validate=validate.Range(min=1, max=500))


class SuspicionDecisionSchema(ma.Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("not_duplicate",)))


class MergeRequestSchema(ma.Schema):
    survivor_id = fields.UUID(required=True)
    merged_id = fields.UUID(required=True)
    suspicion_id = fields.UUID(allow_none=True)
    reason = fields.String(validate=validate.Length(max=500))


class MergeSchema(ma.Schema):
    id = fields.UUID()
    survivor_id = fields.UUID()
    merged_id = fields.UUID()
    moved = fields.Dict()
    merged_by = fields.String()
    merged_at = fields.DateTime()
    unmerged_at = fields.DateTime(allow_none=True)
    unmerge_report = fields.Dict(allow_none=True)
