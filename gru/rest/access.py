"""What the caller may see and do, and the trace of what it saw (the API edge).

Filtering follows the caller's service contract (attributes it may read, party kinds it
covers); every disclosure or change of personal data is appended to the access journal
in the request's transaction, before the answer leaves (fail closed: if the journal
cannot be written, the request fails and nothing is disclosed).
"""

import uuid

from flask import g, has_request_context, request

from gru.audit.journal import record_accesses
from gru.auth.contracts import check_case_reference, resolve_purpose
from gru.errors import Forbidden
from gru.extensions import db
from gru.identity.schemas import party_document
from gru.identity.services import references
from gru.identity.services.context import Actor, catalogue

PERSONAL_DATA_HEADER = "GRU-Purpose"
CASE_REF_HEADER = "GRU-Case-Ref"


def open_access():
    """Resolve purpose and case reference of the current call (after authentication)."""
    caller = g.caller
    g.purpose = resolve_purpose(caller.contract, request.headers.get(PERSONAL_DATA_HEADER))
    g.case_ref = check_case_reference(request.headers.get(CASE_REF_HEADER))
    g.request_id = g.get("request_id") or uuid.uuid4().hex


def current_actor():
    """The caller as the identity services know it, its rights narrowed by the contract."""
    caller = g.caller
    contract = caller.contract
    return Actor(
        type=caller.type,
        id=caller.id,
        may_write=contract.may_write,
        max_level=contract.max_level,
        may_correct_below_level=caller.may_correct_below_level,
        party_kinds=tuple(contract.party_kinds),
    )


def check_kind(kind):
    """The same rule the identity services apply to the actor's writes."""
    current_actor().check_kind(kind)


def check_searchable(keys):
    """Filtering on an attribute needs the search right on it.

    Keys the hub does not know are left to the service, which answers 422 for them.
    """
    contract = g.caller.contract
    known = [key for key in keys if key in catalogue() or key in references.IDENTIFIER_TYPES]
    refused = [key for key in known if not contract.may_search(key)]
    if refused:
        raise Forbidden(f"The contract does not allow searching on {', '.join(sorted(refused))}.")


def visible_party(document):
    """The party document cut down to what the contract lets the caller read."""
    contract = g.caller.contract
    check_kind(document["kind"])
    readable = {key for key in document["attributes"] if contract.may_read(key)}
    own_code = g.caller.id if g.caller.type == "application" else None
    return {
        **document,
        "attributes": {key: value for key, value in document["attributes"].items() if key in readable},
        "provenance": {key: value for key, value in document["provenance"].items() if key in readable},
        "identifiers": [item for item in document["identifiers"] if contract.may_read(item["type"])],
        "cross_references": [
            item for item in document["cross_references"] if own_code is None or item["application"] == own_code
        ],
    }


def visible_record(party):
    """The golden record of a loaded party, as the caller may see it."""
    return visible_party(
        party_document(party, references.identifiers_of(party), references.cross_references_of(party))
    )


def visible_records(parties):
    """:func:`visible_record` for a page of parties, their references read in two queries."""
    by_party = references.references_of(parties)
    return [visible_party(party_document(party, *by_party.get(party.pk, ((), ())))) for party in parties]


def visible_links(links):
    """The links whose two ends are of kinds the contract covers."""
    kinds = set(g.caller.contract.party_kinds)
    return [link for link in links if {link.person.kind, link.target.kind} <= kinds]


def disclosed_keys(document):
    return sorted(set(document["attributes"]) | {item["type"] for item in document["identifiers"]})


def visible_history(entries):
    contract = g.caller.contract
    visible = []
    for entry in entries:
        if entry["subject"] == "attribute" and not contract.may_read(entry["key"]):
            continue
        if entry["subject"] == "identifier" and not contract.may_read(entry["key"]):
            continue
        if entry["subject"] == "xref" and g.caller.type == "application" and entry["key"] != g.caller.id:
            continue
        if entry["subject"] == "consent" and not _sees_consent(contract, entry["key"]):
            continue
        visible.append(entry)
    return visible


def history_keys(entries):
    """The journal's keys of history entries shown: attributes and identifiers by key,
    consents as ``consent:<purpose>[@application]`` (as the consents API journals them)."""
    keys = {entry["key"] for entry in entries if entry["subject"] in ("attribute", "identifier")}
    return keys | {f"consent:{entry['key']}" for entry in entries if entry["subject"] == "consent"}


def _sees_consent(contract, key):
    """A consent's history entry (key ``purpose[@application]``), as the consents API shows it."""
    if not contract.may_read_consents():
        return False
    _, _, application = key.partition("@")
    return not application or g.caller.type != "application" or application == g.caller.id


def changed_keys(outcomes):
    """Attribute keys a write recorded a value for (golden or kept in history)."""
    return [key for key, outcome in outcomes.items() if outcome.status in ("updated", "kept_lower_level")]


def write_disclosures(action, party, outcomes, document):
    """The change (keys changed) and the disclosure of the answer (keys shown)."""
    return [(action, party.id, changed_keys(outcomes)), ("identity:party:read", party.id, disclosed_keys(document))]


def link_disclosures(party, links):
    """Reading a party's links discloses the party and every party at their other end."""
    others = {link.target.id if link.person_pk == party.pk else link.person.id for link in links}
    return [("identity:link:read", party_id, []) for party_id in [party.id, *others]]


def journal(action, disclosures):
    """Append one journal entry per ``(party_id, attribute_keys)`` of ``disclosures``."""
    journal_all([(action, party_id, keys) for party_id, keys in disclosures])


def journal_all(disclosures):
    """Append one entry per ``(action, party_id, attribute_keys)``, in one append (one
    head lock) however many actions a request makes."""
    caller = g.caller
    entries = [
        {
            "actor_type": caller.type,
            "actor_id": caller.id,
            "on_behalf_of": caller.on_behalf_of,
            "action": action,
            "party_id": str(party_id),
            "attribute_keys": sorted(keys),
            "purpose": g.purpose,
            "case_ref": g.case_ref,
            "request_id": g.request_id,
            "client_address": request.remote_addr if has_request_context() else None,  # the command line has none
        }
        for action, party_id, keys in disclosures
    ]
    if entries:
        record_accesses(db.session, entries)
