"""Verifying a document, and the certification its verification gives to values.

DESIGN.md "certification level": an agent who checked the original official document with
the person present certifies at 500 (process ``original_document_checked``), a checked scan
of an official proof at 400 (``official_proof_scan_checked``), an authoritative source at
600. A verified document re-records the party's current golden values of the attributes
its type proves (``certifies`` in the catalogue) at that level, with the document as
their proof; a value already certified higher is left as it is.
"""

from datetime import date

from gru.documents import vault
from gru.documents.models import METHODS
from gru.documents.services import get_document
from gru.errors import Conflict, Forbidden, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.dbtypes import utcnow
from gru.identity.services.context import Actor, catalogue, make_provenance
from gru.identity.services.parties import update_party

STATUSES = ("verified", "rejected")


def _check(status, method, reason):
    errors = {}
    if status not in STATUSES:
        errors["status"] = [f"One of {', '.join(STATUSES)}."]
    if status == "verified" and method not in METHODS:
        errors["method"] = [f"How it was checked, one of {', '.join(METHODS)}."]
    if method is not None and method not in METHODS:
        errors["method"] = [f"One of {', '.join(METHODS)}."]
    if status == "rejected" and not (reason and reason.strip()):
        errors["reason"] = ["Say why the document is rejected."]
    if reason is not None and len(reason) > 2000:
        errors["reason"] = ["At most 2000 characters."]
    if errors:
        raise ValidationFailed(errors)


def values_to_certify(document, level):
    """{key: current golden value} of the attributes the document proves, below ``level``."""
    proven = set(vault().types[document.type].certifies)
    definitions = catalogue()
    found = {}
    for golden in document.party.golden:
        value = golden.value
        if golden.attribute_key not in proven or value.value is None or value.level >= level:
            continue
        if not definitions.get(golden.attribute_key).is_certifiable:
            continue
        found[golden.attribute_key] = value.value
    return found


def verify_document(document_id, status, method, reason, actor, channel="desk", today=None):
    """Mark a document verified or rejected; returns ``(document, outcomes)``.

    ``outcomes`` gives, per certified attribute, the identity services' answer (updated,
    forbidden...). Records the event ``document.verified`` or ``document.rejected``.
    """
    _check(status, method, reason)
    document = get_document(document_id, actor)
    if not actor.may_verify:
        raise Forbidden("The caller may not verify documents.")
    if document.is_purged:
        raise Conflict("This document was purged; it can no longer be verified.")
    if document.status == status:
        raise Conflict(f"This document is already {status}.")
    today = today or date.today()
    if status == "verified" and document.expires_on is not None and document.expires_on < today:
        raise ValidationFailed({"status": ["The document has expired: ask the person for a new one."]})
    document.status = status
    document.verification_method = method
    document.verification_reason = reason
    document.verified_by_type, document.verified_by_id = actor.type, actor.id
    document.verified_at = utcnow()
    outcomes = {}
    if status == "verified":
        process = METHODS[method]
        provenance = make_provenance(channel, process, document_id=document.id)
        values = values_to_certify(document, provenance.level)
        if values:
            identity_actor = actor.identity_actor or Actor(type=actor.type, id=actor.id)
            # "*": the verification certifies what the record holds now, whatever its version.
            _, outcomes = update_party(document.party.id, "*", values, provenance, identity_actor)
    record_event(db.session, f"document.{status}", document.party, {
        "document_id": str(document.id),
        "document_type": document.type,
        "method": method,
        "certified": sorted(key for key, outcome in outcomes.items() if outcome.status == "updated"),
    })
    db.session.flush()
    return document, outcomes
