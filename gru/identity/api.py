"""REST API of golden records: ``/api/v1/parties`` and ``/api/v1/links``.

Each handler loads the request, calls one service, commits once and renders.
"""

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.extensions import db
from gru.identity import schemas
from gru.identity.search import api as matching_api
from gru.identity.search import duplicates as duplicate_service
from gru.identity.search.schemas import DuplicateCheckResultSchema
from gru.identity.services import history as history_service
from gru.identity.services import links as link_service
from gru.identity.services import parties as party_service
from gru.identity.services import records as record_service
from gru.identity.services import references as reference_service
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import decode_cursor, encode_cursor
from gru.errors import Forbidden
from gru.rest import access
from gru.rest.access import current_actor
from gru.rest.paging import link_header, page_size
from gru.rest.rendering import json_response

blp = Blueprint("parties", __name__, url_prefix="/api/v1", description="Golden records of parties")

READ = "parties:read"
WRITE = "parties:write"
ETAG_HEADER = {"ETag": {"description": "Version of the record, for If-Match", "schema": {"type": "string"}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "ETag of the record as last read (required: 428 without, 412 when stale)",
}


def _outcomes(outcomes):
    return {key: outcome.as_dict() for key, outcome in outcomes.items()}


def _write_answer(party, outcomes, action, status):
    """Journal the change and the disclosure of the answer, commit, render."""
    document = access.visible_record(party)
    access.journal_all(access.write_disclosures(action, party, outcomes, document))
    db.session.commit()
    return {"party": document, "attributes": _outcomes(outcomes)}, status, {"ETag": party.etag}


@blp.route("/parties")
class Parties(MethodView):
    @require_scope(READ)
    @blp.arguments(schemas.PartyListQuerySchema, location="query")
    @blp.response(200, schemas.PartyPageSchema, headers={"Link": {"schema": {"type": "string"}}})
    @blp.alt_response(401, "UNAUTHORIZED")
    def get(self, query):
        """List parties, filtered on kind, golden values, cross-reference or identifier."""
        contract = g.caller.contract
        if query.get("kind"):
            access.check_kind(query["kind"])
        where = query.get("where", ())
        searched = [party_service.split_pair("where", item)[0] for item in where]
        if query.get("identifier"):
            searched.append(party_service.split_pair("identifier", query["identifier"])[0])
        access.check_searchable(searched)
        if query.get("xref") and g.caller.type == "application":
            if party_service.split_pair("xref", query["xref"])[0] != g.caller.id:
                raise Forbidden("An application looks up its own cross-references only.")
        parties, next_cursor = party_service.list_parties(
            kinds=[query["kind"]] if query.get("kind") else contract.party_kinds,
            where=where,
            xref=query.get("xref"),
            identifier=query.get("identifier"),
            cursor=query.get("cursor"),
            limit=page_size(query.get("limit")),
        )
        items = access.visible_records(parties)
        access.journal("identity:party:list", [(item["id"], access.disclosed_keys(item)) for item in items])
        db.session.commit()
        return {"items": items, "next_cursor": next_cursor}, 200, link_header(next_cursor)

    @require_scope(WRITE)
    @blp.arguments(schemas.PartyCreateSchema)
    @blp.response(201, schemas.PartyWriteResultSchema, headers=ETAG_HEADER)
    @blp.alt_response(200, schema=DuplicateCheckResultSchema, description="duplicate_check check_only: nothing created",
                      success=True)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(403, "FORBIDDEN")
    @blp.alt_response(409, "CONFLICT")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    def post(self, payload):
        """Create a party with its first values and their provenance."""
        provenance = make_provenance(
            payload["channel"], payload["process"], payload.get("level"), payload.get("document_id")
        )
        if payload.get("duplicate_check", "none") != "none":  # issue 6: "do you know this person?"
            access.check_kind(payload["kind"])
            if payload["duplicate_check"] == "check_only":
                return matching_api.check_only(payload["kind"], payload["attributes"])
            duplicate_service.check_before_create(payload["kind"], payload["attributes"], payload["on_possible"])
        party, outcomes = party_service.create_party(
            payload["kind"], payload["attributes"], provenance, current_actor()
        )
        duplicate_service.propose_for(party, origin="create")
        body, status, headers = _write_answer(party, outcomes, "identity:party:create", 201)
        headers["Location"] = f"{request.base_url}/{party.id}"
        return body, status, headers


@blp.route("/parties/<uuid:party_id>")
class PartyResource(MethodView):
    @require_scope(READ)
    @blp.response(200, schemas.PartySchema, headers=ETAG_HEADER)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(404, "NOT_FOUND")
    def get(self, party_id):
        """Read the golden record of a party, with the provenance of each value."""
        record = record_service.read_record(party_id)
        document = access.visible_party(record.document)
        access.journal("identity:party:read", [(record.id, access.disclosed_keys(document))])
        db.session.commit()
        return json_response(document, 200, {"ETag": record.etag})

    @require_scope(WRITE)
    @blp.arguments(schemas.PartyUpdateSchema)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(200, schemas.PartyWriteResultSchema, headers=ETAG_HEADER)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(412, "PRECONDITION_FAILED")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @blp.alt_response(428, "PRECONDITION_REQUIRED")
    def patch(self, payload, party_id):
        """Record new values; each attribute answers updated, unchanged, kept_lower_level or forbidden."""
        provenance = make_provenance(
            payload["channel"], payload["process"], payload.get("level"), payload.get("document_id")
        )
        party, outcomes = party_service.update_party(
            party_id, request.headers.get("If-Match"), payload["attributes"], provenance, current_actor()
        )
        duplicate_service.propose_after_update(
            party, [key for key, outcome in outcomes.items() if outcome.status == "updated"])
        return _write_answer(party, outcomes, "identity:party:update", 200)


@blp.route("/parties/<uuid:party_id>/history")
@require_scope(READ)
@blp.arguments(schemas.PageQuerySchema, location="query")
@blp.response(200, schemas.HistoryPageSchema, headers={"Link": {"schema": {"type": "string"}}})
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def party_history(query, party_id):
    """Every change of the party, oldest first: values, links, identifiers, cross-references."""
    party = party_service.get_party(party_id)
    access.check_kind(party.kind)
    entries = access.visible_history(history_service.party_history(party))
    start = decode_cursor(query["cursor"]) if query.get("cursor") else 0
    limit = page_size(query.get("limit"))
    page = entries[start : start + limit]
    next_cursor = encode_cursor(start + limit) if start + limit < len(entries) else None
    keys = access.history_keys(page)
    access.journal("identity:party:history", [(party.id, keys)])
    db.session.commit()
    return {"items": page, "next_cursor": next_cursor}, 200, link_header(next_cursor)


@blp.route("/parties/<uuid:party_id>/links")
@require_scope(READ)
@blp.response(200, schemas.LinkListSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def party_links(party_id):
    """The links of a party, in both directions, ended ones included (those the contract covers)."""
    party = party_service.get_party(party_id)
    access.check_kind(party.kind)
    links = access.visible_links(link_service.links_of(party))
    access.journal_all(access.link_disclosures(party, links))
    db.session.commit()
    return {"items": [schemas.link_document(link) for link in links]}


@blp.route("/links", methods=["POST"])
@require_scope(WRITE)
@blp.arguments(schemas.LinkCreateSchema)
@blp.response(201, schemas.LinkSchema, headers=ETAG_HEADER)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def create_link(payload):
    """Link a person to a household, an organisation or a person in their care."""
    link = link_service.create_link(
        person_id=payload["person_id"],
        kind=payload["kind"],
        target_id=payload["target_id"],
        role=payload.get("role"),
        starts_on=payload.get("starts_on"),
        ends_on=payload.get("ends_on"),
        channel=payload["channel"],
        actor=current_actor(),
    )
    access.journal("identity:link:create", [(link.person.id, []), (link.target.id, [])])
    db.session.commit()
    return schemas.link_document(link), 201, {"ETag": link.etag, "Location": f"{request.base_url}/{link.id}"}


@blp.route("/links/<uuid:link_id>")
class LinkResource(MethodView):
    @require_scope(READ)
    @blp.response(200, schemas.LinkSchema, headers=ETAG_HEADER)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(404, "NOT_FOUND")
    def get(self, link_id):
        """Read a link."""
        link = link_service.get_link(link_id)
        access.check_kind(link.person.kind)
        access.check_kind(link.target.kind)
        access.journal("identity:link:read", [(link.person.id, []), (link.target.id, [])])
        db.session.commit()
        return schemas.link_document(link), 200, {"ETag": link.etag}

    @require_scope(WRITE)
    @blp.arguments(schemas.LinkEndSchema)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(200, schemas.LinkSchema, headers=ETAG_HEADER)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(412, "PRECONDITION_FAILED")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @blp.alt_response(428, "PRECONDITION_REQUIRED")
    def patch(self, payload, link_id):
        """End a link at a date (default today); the link stays in history."""
        link = link_service.end_link(
            link_id, request.headers.get("If-Match"), payload.get("ends_on"), payload["channel"], current_actor()
        )
        access.journal("identity:link:update", [(link.person.id, []), (link.target.id, [])])
        db.session.commit()
        return schemas.link_document(link), 200, {"ETag": link.etag}


@blp.route("/parties/<uuid:party_id>/identifiers", methods=["POST"])
@require_scope(WRITE)
@blp.arguments(schemas.IdentifierCreateSchema)
@blp.response(201, schemas.IdentifierSchema)
@blp.alt_response(200, schema=schemas.IdentifierSchema, description="Already recorded", success=True)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def add_identifier(payload, party_id):
    """Record an identifier (SIREN, SIRET, RIDET, RNA, NIR); 409 names the party already holding it."""
    identifier, is_new = reference_service.add_identifier(
        party_id, payload["type"], payload["value"], payload["channel"], current_actor()
    )
    access.journal("identity:identifier:add", [(party_id, [identifier.type])])
    db.session.commit()
    return {"type": identifier.type, "value": identifier.value}, 201 if is_new else 200


@blp.route("/parties/<uuid:party_id>/identifiers/<string:type_>/<string:value>", methods=["DELETE"])
@require_scope(WRITE)
@blp.response(204)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def remove_identifier(party_id, type_, value):
    """Remove an identifier from a party (kept in history)."""
    reference_service.remove_identifier(party_id, type_, value, "application", current_actor())
    access.journal("identity:identifier:remove", [(party_id, [type_])])
    db.session.commit()


@blp.route("/parties/<uuid:party_id>/cross-references", methods=["POST"])
@require_scope(WRITE)
@blp.arguments(schemas.CrossReferenceCreateSchema)
@blp.response(201, schemas.CrossReferenceSchema)
@blp.alt_response(200, schema=schemas.CrossReferenceSchema, description="Already recorded", success=True)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def add_cross_reference(payload, party_id):
    """Record the calling application's own id for this party; 409 names the party already holding it."""
    reference, is_new = reference_service.add_cross_reference(
        party_id, payload.get("application"), payload["local_id"], payload["channel"], current_actor()
    )
    access.journal("identity:xref:add", [(party_id, [])])
    db.session.commit()
    return {"application": reference.application_code, "local_id": reference.local_id}, 201 if is_new else 200


@blp.route("/parties/<uuid:party_id>/cross-references/<string:application>/<string:local_id>", methods=["DELETE"])
@require_scope(WRITE)
@blp.response(204)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(404, "NOT_FOUND")
def remove_cross_reference(party_id, application, local_id):
    """Remove a cross-reference (kept in history)."""
    reference_service.remove_cross_reference(party_id, application, local_id, "application", current_actor())
    access.journal("identity:xref:remove", [(party_id, [])])
    db.session.commit()
