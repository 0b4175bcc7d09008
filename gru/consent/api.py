"""REST API of consents: ``/api/v1/parties/<id>/consents``.

Authenticated like the other party endpoints (bearer token, scope ``parties:read`` or
``parties:write``, purpose of the call); the caller's service contract must also grant
``consents``: ``read`` to see them, ``write`` to record them. Every read and every
statement is journaled (``consent:consent:*``, keys ``consent:<purpose>``, never the
state) in the request's transaction, before the answer leaves.
"""

from flask import g, request
from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.consent import schemas
from gru.consent import services as consent_service
from gru.consent.services import ConsentActor, ConsentRequest
from gru.extensions import db
from gru.rest import access

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Consents of parties (GDPR art. 7)")

READ = "parties:read"
WRITE = "parties:write"


def consent_actor():
    """The caller as the consent services know it, its rights narrowed by its contract."""
    caller, contract = g.caller, g.caller.contract
    return ConsentActor(
        type=caller.type, id=caller.id, may_read=contract.may_read_consents(),
        may_write=contract.may_write_consents(), party_kinds=tuple(contract.party_kinds),
        application=caller.id if caller.type == "application" else None,
    )


@blp.route("/parties/<uuid:party_id>/consents", methods=["GET"])
@require_scope(READ)
@blp.arguments(schemas.ConsentQuerySchema, location="query")
@blp.response(200, schemas.ConsentListSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
def list_consents(query, party_id):
    """The party's consents: per purpose (and application) the current state; ``history``: every statement."""
    if query["history"]:
        party, consents = consent_service.consent_history(party_id, consent_actor())
        action = "consent:consent:history"
    else:
        party, consents = consent_service.current_consents(party_id, consent_actor())
        action = "consent:consent:list"
    access.journal(action, [(party.id, consent_service.journal_keys(consents))])
    db.session.commit()
    return schemas.consent_list_view(party, consents, consent_service.purpose_labels())


@blp.route("/parties/<uuid:party_id>/consents", methods=["POST"])
@require_scope(WRITE)
@blp.arguments(schemas.ConsentCreateSchema)
@blp.response(201, schemas.ConsentSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def record_consent(payload, party_id):
    """Record a consent given or withdrawn, with its evidence (channel, text version); events
    ``consent.given`` / ``consent.withdrawn``."""
    party, consent = consent_service.record_consent(party_id, ConsentRequest(**payload), consent_actor())
    verb = "give" if consent.state == "given" else "withdraw"
    access.journal(f"consent:consent:{verb}", [(party.id, consent_service.journal_keys([consent]))])
    db.session.commit()
    location = f"{request.base_url}?history=true"
    return schemas.consent_view(consent, consent_service.purpose_labels()), 201, {"Location": location}
