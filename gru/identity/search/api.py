"""REST API of search, matching, duplicate review and merge (issue 6).

Each handler loads the request, calls one service, journals one entry per party it
discloses, commits once and renders. Answers show only what the caller's contract lets
it read; searching on what it may not search is 403.
"""

from flask import g
from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.errors import Forbidden
from gru.extensions import db
from gru.identity.search import disclosure, duplicates, merge, schemas, service, unmerge
from gru.identity.services.parties import decode_cursor, encode_cursor
from gru.rest import access
from gru.rest.access import current_actor
from gru.rest.paging import page_size
from gru.rest.rendering import json_response

blp = Blueprint("matching", __name__, url_prefix="/api/v1", description="Search, matching, duplicates and merge")

READ = "parties:read"
WRITE = "parties:write"
MERGE = "parties:merge"


def searchable_fields(kind=None):
    """The index fields the caller may search (403 when none)."""
    fields = service.searchable_fields(g.caller.contract, kind)
    if not fields:
        raise Forbidden("The contract does not allow searching on any name.")
    return fields


@blp.route("/parties/search")
@require_scope(READ)
@blp.arguments(schemas.SearchQuerySchema, location="query")
@blp.response(200, schemas.SearchResultSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def search_parties(query):
    """Find parties by name despite typos, missing accents, maiden names or swapped names."""
    contract = g.caller.contract
    kind = query.get("kind")
    if kind:
        access.check_kind(kind)
    fields = searchable_fields(kind)
    if query.get("birth_date"):
        access.check_searchable(["birth_date"])
    if query.get("commune") and not (contract.may_search("birth_place") or contract.may_search("postal_address")):
        raise Forbidden("The contract does not allow searching on birth place or address.")
    hits = service.search(
        query["q"], fields=fields, kinds=[kind] if kind else list(contract.party_kinds),
        birth_date=query.get("birth_date"), commune=query.get("commune"), limit=query.get("limit") or 20,
    )
    items = disclosure.search_items(hits)
    disclosure.journal_parties("identity:party:search", items)
    db.session.commit()
    return json_response({"items": items})  # what SearchResultSchema dumps, without the dump (gru.rest.rendering)


@blp.route("/parties/match", methods=["POST"])
@require_scope(READ)
@blp.arguments(schemas.MatchRequestSchema)
@blp.response(200, schemas.MatchResultSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(403, "FORBIDDEN")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def match_parties(payload):
    """Do you know this person? Candidates with a score, a decision and a per-field explanation."""
    access.check_kind(payload["kind"])
    access.check_searchable(list(payload["attributes"]))
    results = duplicates.find_matches(payload["kind"], payload["attributes"], kinds=[payload["kind"]],
                                      limit=payload.get("limit") or 10)
    candidates = disclosure.candidates(results)
    disclosure.journal_parties("identity:party:match", candidates)
    db.session.commit()
    return {"decision": candidates[0]["decision"] if candidates else "none", "candidates": candidates}


def check_only(kind, attributes):
    """``duplicate_check: check_only`` of POST /parties: the match answer, nothing created."""
    access.check_searchable(list(attributes))
    results = duplicates.find_matches(kind, attributes, kinds=[kind], limit=10)
    candidates = disclosure.candidates(results)
    disclosure.journal_parties("identity:party:match", candidates)
    db.session.commit()
    return json_response({"decision": candidates[0]["decision"] if candidates else "none",
                          "candidates": candidates, "created": False}, 200)


@blp.route("/duplicates")
@require_scope(READ)
@blp.arguments(schemas.SuspicionListQuerySchema, location="query")
@blp.response(200, schemas.SuspicionPageSchema)
@blp.alt_response(401, "UNAUTHORIZED")
def list_duplicates(query):
    """Suspected duplicates, oldest first, both parties side by side."""
    limit = page_size(query.get("limit"))
    suspicions = duplicates.list_suspicions(
        query.get("status") or "open", decode_cursor(query["cursor"]) if query.get("cursor") else None, limit + 1)
    page = suspicions[:limit]
    items = disclosure.visible_suspicions(page)
    disclosure.journal_suspicions("identity:duplicate:list", items)
    db.session.commit()
    return {"items": items, "next_cursor": encode_cursor(page[-1].pk) if len(suspicions) > limit else None}


@blp.route("/duplicates/<uuid:suspicion_id>")
@require_scope(READ)
@blp.response(200, schemas.SuspicionSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def get_duplicate(suspicion_id):
    """One suspicion, both parties side by side."""
    document = disclosure.suspicion_document(duplicates.get_suspicion(suspicion_id))
    disclosure.journal_suspicions("identity:duplicate:read", [document])
    db.session.commit()
    return document


@blp.route("/duplicates/<uuid:suspicion_id>/review", methods=["POST"])
@require_scope(WRITE)
@blp.response(200, schemas.SuspicionSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
def review_duplicate(suspicion_id):
    """Take the suspicion for review: locked for the caller for 15 minutes (409 for others)."""
    document = disclosure.suspicion_document(duplicates.start_review(suspicion_id, _reviewer()))
    disclosure.journal_suspicions("identity:duplicate:review", [document])
    db.session.commit()
    return document


@blp.route("/duplicates/<uuid:suspicion_id>/decision", methods=["POST"])
@require_scope(WRITE)
@blp.arguments(schemas.SuspicionDecisionSchema)
@blp.response(200, schemas.SuspicionSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
def decide_duplicate(payload, suspicion_id):
    """Not a duplicate: remembered, the pair is never proposed again. (A duplicate is merged: POST /merges.)"""
    document = disclosure.suspicion_document(duplicates.decide_not_duplicate(suspicion_id, _reviewer()))
    disclosure.journal_suspicions("identity:duplicate:decide", [document])
    db.session.commit()
    return document


@blp.route("/merges", methods=["POST"])
@require_scope(MERGE)
@blp.arguments(schemas.MergeRequestSchema)
@blp.response(201, schemas.MergeSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def merge_parties(payload):
    """Merge ``merged_id`` into ``survivor_id`` (supervisors): nothing is lost; ``party.merged`` is recorded."""
    record = merge.merge(payload["survivor_id"], payload["merged_id"], current_actor(), payload.get("reason"),
                         payload.get("suspicion_id"))
    document = merge.merge_document(record)
    disclosure.journal_merge("identity:party:merge", document)
    db.session.commit()
    return document


@blp.route("/merges/<uuid:merge_id>")
@require_scope(READ)
@blp.response(200, schemas.MergeSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def get_merge(merge_id):
    """What a merge moved, and the report of its undoing."""
    document = merge.merge_document(merge.get_merge(merge_id))
    disclosure.journal_merge("identity:merge:read", document)
    db.session.commit()
    return document


@blp.route("/merges/<uuid:merge_id>/unmerge", methods=["POST"])
@require_scope(MERGE)
@blp.response(200, schemas.MergeSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
def unmerge_parties(merge_id):
    """Undo a merge: both parties as they were; the report names what stayed on the survivor."""
    document = merge.merge_document(unmerge.unmerge(merge_id, current_actor()))
    disclosure.journal_merge("identity:party:unmerge", document)
    db.session.commit()
    return document


def _reviewer():
    return f"{g.caller.type}:{g.caller.id}"
