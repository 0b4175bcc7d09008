"""The payload of a delivery, built when it is sent, for the receiving application.

Data minimisation (GDPR art. 5(1)(c)): the payload is the party's golden record *now*
(:func:`gru.identity.services.records.read_record`), cut down by the receiving
application's contract exactly as the API cuts it (:func:`gru.rest.access.visible_party`):
only the attributes and identifier types it may read, only its own cross-reference, only
parties of kinds it covers. When the event changed nothing the application may read, there
is no payload and nothing is sent (the delivery is ``skipped``).

A household's, association's or company's payload lists its current members (persons
linked ``member_of`` or ``represents``) by hub id and by the application's own id, so that
a receiver keeping groups (SCIM) can keep their membership.
"""

import uuid
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from gru.errors import NotFound
from gru.extensions import db
from gru.identity.models import CrossReference, Link, Party
from gru.identity.services.records import read_record


def _changed_keys(event, contract, code):
    """What the event changed that the application may see; None: nothing (skip)."""
    data = event.data or {}
    type_ = event.type
    if type_ in ("party.created", "party.updated"):
        keys = [key for key in data.get("attributes", []) if contract.may_read(key)]
        return keys or None
    if type_ == "identifier.changed":
        return [data.get("type")] if contract.may_read(data.get("type")) else None
    if type_ == "xref.changed":
        return ["cross_reference"] if data.get("application") == code else None
    if type_.startswith("document."):
        if data.get("document_type") not in contract.document_types:
            return None
        return [key for key in data.get("certified", data.get("proof_expired", [])) if contract.may_read(key)]
    if type_.startswith("consent."):
        # as the API shows them: with the consents read right, for the purpose as a whole
        # or limited to this application, never another application's
        if not contract.may_read_consents() or data.get("application") not in (None, code):
            return None
        return []
    return []  # link.*, party.merged, party.erased: the fact itself is what changed


def _local_ids(party_ids, code):
    if not party_ids:
        return {}
    rows = db.session.execute(
        select(Party.id, CrossReference.local_id)
        .join(CrossReference, CrossReference.party_pk == Party.pk)
        .where(Party.id.in_(party_ids), CrossReference.application_code == code)
    ).all()
    return {party_id: local_id for party_id, local_id in rows}


def _members(party_pk, code, kinds):
    """Current members of a group party: persons linked to it, with the application's ids."""
    person = aliased(Party)
    today = date.today()
    rows = db.session.execute(
        select(person.id, Link.kind, Link.role)
        .join(person, person.pk == Link.person_pk)
        .where(Link.target_pk == party_pk, Link.kind.in_(("member_of", "represents")),
               Link.starts_on <= today, or_(Link.ends_on.is_(None), Link.ends_on >= today),
               person.status == "active")
        .order_by(Link.pk)
    ).all()
    if "person" not in kinds:
        return []
    local = _local_ids([row.id for row in rows], code)
    return [{"id": str(row.id), "local_id": local.get(row.id), "link": row.kind, "role": row.role} for row in rows]


def _link_payload(data, party_id, code, kinds):
    link = dict(data.get("link") or {})
    other = link.get("target_id") if link.get("person_id") == str(party_id) else link.get("person_id")
    if other is None:
        return None
    other_party = db.session.execute(select(Party.kind).where(Party.id == uuid.UUID(other))).first()
    if other_party is None or other_party.kind not in kinds:
        return None
    link["other_party"] = {"id": other, "local_id": _local_ids([uuid.UUID(other)], code).get(uuid.UUID(other))}
    return link


def build_payload(event, contract, code):
    """``(payload, disclosed attribute keys)`` of ``event`` for application ``code`` under
    ``contract`` (a :class:`gru.auth.contracts.ContractView`); ``(None, [])`` to skip."""
    if contract is None:
        return None, []
    try:
        record = read_record(event.party_id)
    except NotFound:
        return None, []
    document = record.document
    if document["kind"] not in contract.party_kinds:
        return None, []
    changed = _changed_keys(event, contract, code)
    if changed is None:
        return None, []
    attributes = {key: value for key, value in document["attributes"].items() if contract.may_read(key)}
    identifiers = [item for item in document["identifiers"] if contract.may_read(item["type"])]
    own = [item["local_id"] for item in document["cross_references"] if item["application"] == code]
    party = {
        "id": str(document["id"]),
        "kind": document["kind"],
        "status": document["status"],
        "merged_into": str(document["merged_into"]) if document["merged_into"] else None,
        "version": document["version"],
        "local_id": own[0] if own else None,
        "attributes": attributes,
        "identifiers": identifiers,
    }
    if document["kind"] != "person":
        party["members"] = _members(record.pk, code, contract.party_kinds)
    payload = {"party": party, "changed": changed}
    data = event.data or {}
    if event.type.startswith("link."):
        link = _link_payload(data, event.party_id, code, contract.party_kinds)
        if link is None:
            return None, []
        payload["link"] = link
    elif event.type.startswith("document."):
        payload["document"] = {"id": data.get("document_id"), "type": data.get("document_type")}
    elif event.type.startswith("consent."):
        payload["consent"] = {key: data.get(key) for key in
                              ("consent_id", "purpose", "application", "state", "text_version", "valid_until")}
    elif event.type == "xref.changed":
        payload["cross_reference"] = {"action": data.get("action"), "local_id": party["local_id"]}
    elif event.type == "identifier.changed":
        payload["identifier"] = {"type": data.get("type"), "action": data.get("action")}
    disclosed = sorted(set(attributes) | {item["type"] for item in identifiers})
    return payload, disclosed
