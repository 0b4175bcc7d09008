"""Admin API of the purposes register (scope ``admin``): declare, update, retire, read.

The register holds no personal data (GDPR art. 30(1): what is processed, why, for whom,
how long), so these calls state no purpose and leave no journal entry.
"""

from flask import g
from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.consent import schemas
from gru.consent import services as consent_service
from gru.extensions import db

blp = Blueprint("purposes", __name__, url_prefix="/api/v1/purposes", description="The purposes register (GDPR art. 30)")
ADMIN = "admin"


def _author():
    return f"application:{g.caller.id}"


@blp.route("", methods=["GET"])
@require_scope(ADMIN, personal_data=False)
@blp.arguments(schemas.PurposeListQuerySchema, location="query")
@blp.response(200, schemas.PurposeListSchema)
def list_purposes(query):
    """The purposes in use, by code (``include_retired``: the retired ones too)."""
    purposes = consent_service.list_purposes(include_retired=query["include_retired"])
    return {"items": [schemas.purpose_view(purpose) for purpose in purposes]}


@blp.route("", methods=["POST"])
@require_scope(ADMIN, personal_data=False)
@blp.arguments(schemas.PurposeInputSchema)
@blp.response(201, schemas.PurposeSchema)
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def declare_purpose(document):
    """Declare a purpose: code, label, lawful basis, data categories, recipients, retention."""
    purpose = consent_service.declare_purpose(document, _author())
    db.session.commit()
    return schemas.purpose_view(purpose), 201


@blp.route("/<string:code>", methods=["GET"])
@require_scope(ADMIN, personal_data=False)
@blp.response(200, schemas.PurposeSchema)
@blp.alt_response(404, "NOT_FOUND")
def read_purpose(code):
    """One purpose of the register, retired or not."""
    return schemas.purpose_view(consent_service.get_purpose(code))


@blp.route("/<string:code>", methods=["PATCH"])
@require_scope(ADMIN, personal_data=False)
@blp.arguments(schemas.PurposeInputSchema)
@blp.response(200, schemas.PurposeSchema)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def update_purpose(changes, code):
    """Change what the register says of a purpose (its lawful basis is fixed once consents exist)."""
    purpose = consent_service.update_purpose(code, changes, _author())
    db.session.commit()
    return schemas.purpose_view(purpose)


@blp.route("/<string:code>", methods=["DELETE"])
@require_scope(ADMIN, personal_data=False)
@blp.response(200, schemas.PurposeSchema)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
def retire_purpose(code):
    """Retire a purpose: kept in the register, no new consent given for it."""
    purpose = consent_service.retire_purpose(code, _author())
    db.session.commit()
    return schemas.purpose_view(purpose)
