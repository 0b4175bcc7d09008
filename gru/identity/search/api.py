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
from gru.identity.search import duplicates, merge, schemas, service
from gru.identity.services import records
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


def _documents(pks):
    """``{pk: document}`` of the parties ``pks`` as the caller may see them (two statements,
    no ORM objects: :func:`gru.identity.services.records.read_records`)."""
    return {record.pk: access.visible_party(record.document) for record in records.read_records(pks)}


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
    documents = _documents([hit.party_pk for hit in hits])
    items = [{"party": documents[hit.party_pk], "score": hit.score, "reasons": hit.reasons}
             for hit in hits if hit.party_pk in documents]
    access.journal("identity:party:search", [(item["party"]["id"], access.disclosed_keys(item["party"])) for item in items])
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
    candidates = _candidates(results)
    access.journal("identity:party:match", [(item["party"]["id"], access.disclosed_keys(item["party"]))
                                            for item in candidates])
    db.session.commit()
    return {"decision": candidates[0]["decision"] if candidates else "none", "candidates": candidates}


def check_only(kind, attributes):
    """``duplicate_check: check_only`` of POST /parties: the match answer, nothing created."""
    access.check_searchable(list(attributes))
    results = duplicates.find_matches(kind, attributes, kinds=[kind], limit=10)
    candidates = _candidates(results)
    access.journal("identity:party:match", [(item["party"]["id"], access.disclosed_keys(item["party"]))
                                            for item in candidates])
    db.session.commit()
    return json_response({"decision": candidates[0]["decision"] if candidates else "none",
                          "candidates": candidates, "created": False}, 200)


def _readable(explanation):
    """The per-field explanation, cut down to the fields the caller may read."""
    contract = g.caller.contract
    aliases = {"phone": ("mobile_phone", "landline_phone", "phone")}
    return {key: item for key, item in explanation.items()
            if key == "swapped_names" or any(contract.may_read(name) for name in aliases.get(key, (key,)))}


def _candidates(results):
    documents = dict(zip([party.pk for party, _ in results], access.visible_records([party for party, _ in results])))
    return [{"party": documents[party.pk], "score": comparison.score, "weight": comparison.weight,
             "decision": comparison.decision, "explanation": _readable(comparison.explanation)}
            for party, comparison in results]


def _suspicion_document(suspicion):
    parties = duplicates.parties_of(suspicion)
    return {
        "id": suspicion.id, "status": suspicion.status, "score": suspicion.score, "decision": suspicion.decision,
        "origin": suspicion.origin, "explanation": _readable(suspicion.explanation), "locked_by": suspicion.locked_by,
        "locked_until": suspicion.locked_until, "decided_by": suspicion.decided_by,
        "decided_at": suspicion.decided_at, "created_at": suspicion.created_at,
        "parties": access.visible_records(parties),
    }


def _journal_suspicions(action, documents):
    access.journal(action, [(party["id"], access.disclosed_keys(party)) for item in documents for party in item["parties"]])


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
    kinds = set(g.caller.contract.party_kinds)
    page = suspicions[:limit]
    items = [_suspicion_document(item) for item in page
             if all(party.kind in kinds for party in duplicates.parties_of(item))]
    _journal_suspicions("identity:duplicate:list", items)
    db.session.commit()
    return {"items": items, "next_cursor": encode_cursor(page[-1].pk) if len(suspicions) > limit else None}


@blp.route("/duplicates/<uuid:suspicion_id>")
@require_scope(READ)
@blp.response(200, schemas.SuspicionSchema)
@blp.alt_response(401, "UNAUTHORIZED")
@blp.alt_response(404, "NOT_FOUND")
def get_duplicate(suspicion_id):
    """One suspicion, both parties side by side."""
    document = _suspicion_document(duplicates.get_suspicion(suspicion_id))
    _journal_suspicions("identity:duplicate:read", [document])
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
    document = _suspicion_document(duplicates.start_review(suspicion_id, _reviewer()))
    _journal_suspicions("identity:duplicate:review", [document])
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
    document = _suspicion_document(duplicates.decide_not_duplicate(suspicion_id, _reviewer()))
    _journal_suspicions("identity:duplicate:decide", [document])
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
    access.journal("identity:party:merge", [(document["survivor_id"], []), (document["merged_id"], [])])
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
    access.journal("identity:merge:read", [(document["survivor_id"], []), (document["merged_id"], [])])
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
    document = merge.merge_document(merge.unmerge(merge_id, current_actor()))
    access.journal("identity:party:unmerge", [(document["survivor_id"], []), (document["merged_id"], [])])
    db.session.commit()
    return document


def _reviewer():
    return f"{g.caller.type}:{g.caller.id}"
