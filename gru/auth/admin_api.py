"""Admin API (scope ``admin``): service contracts of applications. No personal data here."""

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields

from gru.auth import contracts as contract_service
from gru.auth.bearer import require_scope
from gru.auth.services import get_application
from gru.errors import NotFound
from gru.extensions import db

blp = Blueprint("admin", __name__, url_prefix="/api/v1/applications", description="Applications and contracts")


class ContractInputSchema(ma.Schema):
    purposes = fields.List(fields.String(), required=True)
    party_kinds = fields.List(fields.String())
    attributes = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    max_level = fields.Integer()
    document_types = fields.List(fields.String())
    events = fields.List(fields.String())
    consents = fields.List(fields.String(), metadata={"description": "Rights on consents: read, write"})


class ContractSchema(ContractInputSchema):
    version = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()


class ContractListSchema(ma.Schema):
    items = fields.List(fields.Nested(ContractSchema))


@blp.route("/<string:code>/contract", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, ContractSchema)
@blp.alt_response(404, "NOT_FOUND")
def read_contract(code):
    """The contract in force for an application."""
    contract = contract_service.current_contract(get_application(code))
    if contract is None:
        raise NotFound("This application has no contract.")
    return contract.as_document()


@blp.route("/<string:code>/contract", methods=["PUT"])
@require_scope("admin", personal_data=False)
@blp.arguments(ContractInputSchema)
@blp.response(200, ContractSchema)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def put_contract(document, code):
    """Put a new version of an application's contract in force."""
    from flask import g

    contract = contract_service.set_contract(
        code, document, current_app.extensions["gru.catalogue"], author=f"application:{g.caller.id}"
    )
    db.session.commit()
    return contract.as_document()


@blp.route("/<string:code>/contract/versions", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, ContractListSchema)
@blp.alt_response(404, "NOT_FOUND")
def contract_versions(code):
    """Every version of an application's contract, oldest first."""
    return {"items": [contract.as_document() for contract in contract_service.contract_history(code)]}
