"""What a caller is shown of search, match and duplicate results, and their journal
entries: one place for the API and the command line (issue 6).

Everything here reads ``g.caller`` (set by the bearer token on the API, by
:func:`gru.cli_support.act_as_agent` on the command line) and goes through
:mod:`gru.rest.access`, so both edges filter and journal alike.
"""

from flask import g

from gru.identity.search import duplicates
from gru.identity.services import records
from gru.rest import access

#: explanation keys that stand for several attributes
_ALIASES = {"phone": ("mobile_phone", "landline_phone", "phone")}


def documents_by_pk(pks):
    """``{party_pk: visible record}`` of the parties of ``pks`` (two statements, no ORM
    objects: :func:`gru.identity.services.records.read_records`)."""
    return {record.pk: access.visible_party(record.document) for record in records.read_records(pks)}


def search_items(hits):
    documents = documents_by_pk([hit.party_pk for hit in hits])
    return [{"party": documents[hit.party_pk], "score": hit.score, "reasons": hit.reasons}
            for hit in hits if hit.party_pk in documents]


def readable(explanation):
    """The per-field explanation, cut down to the fields the caller may read."""
    contract = g.caller.contract
    return {key: item for key, item in explanation.items()
            if key == "swapped_names" or any(contract.may_read(name) for name in _ALIASES.get(key, (key,)))}


def candidates(results):
    """Documents of ``[(party, Comparison)]`` (:func:`gru.identity.search.duplicates.find_matches`)."""
    documents = dict(zip([party.pk for party, _ in results], access.visible_records([party for party, _ in results])))
    return [{"party": documents[party.pk], "score": comparison.score, "weight": comparison.weight,
             "decision": comparison.decision, "explanation": readable(comparison.explanation)}
            for party, comparison in results]


def journal_parties(action, items):
    """One journal entry per party shown in ``items`` (each with a ``party``)."""
    access.journal(action, [(item["party"]["id"], access.disclosed_keys(item["party"])) for item in items])


def suspicion_document(suspicion):
    parties = duplicates.parties_of(suspicion)
    return {
        "id": suspicion.id, "status": suspicion.status, "score": suspicion.score, "decision": suspicion.decision,
        "origin": suspicion.origin, "explanation": readable(suspicion.explanation), "locked_by": suspicion.locked_by,
        "locked_until": suspicion.locked_until, "decided_by": suspicion.decided_by,
        "decided_at": suspicion.decided_at, "created_at": suspicion.created_at,
        "parties": access.visible_records(parties),
    }


def journal_suspicions(action, documents):
    access.journal(action, [(party["id"], access.disclosed_keys(party)) for item in documents for party in item["parties"]])


def visible_suspicions(suspicions):
    """Documents of the suspicions whose two parties are of kinds the contract covers."""
    kinds = set(g.caller.contract.party_kinds)
    return [suspicion_document(item) for item in suspicions
            if all(party.kind in kinds for party in duplicates.parties_of(item))]


def journal_merge(action, document):
    """One journal entry for each party of a merge document (:func:`gru.identity.search.merge.merge_document`):
    a merge, its reading or its undoing touches both, and discloses no attribute."""
    access.journal(action, [(document["survivor_id"], []), (document["merged_id"], [])])
