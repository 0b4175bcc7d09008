"""Identifiers (typed external numbers) and cross-references (application, local id).

Both are unique: one (type, value) or (application, local id) names one party at most,
and a conflict names the party that already holds it.
"""

import re

from sqlalchemy import select
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir

from gru.errors import Conflict, Forbidden, InvalidValue, NotFound, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.identity import validators
from gru.identity.models import CrossReference, HistoryEntry, Identifier, Party
from gru.identity.services.parties import get_party_for, touch


def _validate_nir(raw):
    """French social-security number (NIR): 13 digits and a 2-digit key (python-stdnum)."""
    try:
        return nir.validate(raw)
    except (StdnumError, TypeError):
        raise InvalidValue("Not a valid social-security number (NIR).") from None


IDENTIFIER_TYPES = {
    # type: (validator, party kinds it may name)
    "siren": (validators.VALIDATORS["siren"], ("company",)),
    "siret": (validators.VALIDATORS["siret"], ("company",)),
    "ridet": (validators.VALIDATORS["ridet"], ("company",)),
    "rna": (validators.VALIDATORS["rna"], ("association",)),
    "nir": (_validate_nir, ("person",)),
}
APPLICATION_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_LOCAL_ID_LENGTH = 128


def add_identifier(party_id, type_, raw_value, channel, actor):
    party = get_party_for(actor, party_id)
    if type_ not in IDENTIFIER_TYPES:
        raise ValidationFailed({"type": [f"An identifier type is one of {', '.join(IDENTIFIER_TYPES)}."]})
    if not actor.may_write(type_):
        raise Forbidden(f"The caller may not write {type_} identifiers.")
    validate, kinds = IDENTIFIER_TYPES[type_]
    if party.kind not in kinds:
        raise ValidationFailed({"type": [f"A {type_} identifies a {' or '.join(kinds)}, not a {party.kind}."]})
    try:
        value = validate(raw_value)
    except InvalidValue as error:
        raise ValidationFailed({"value": [error.detail]}) from None
    holder = db.session.scalar(select(Identifier).where(Identifier.type == type_, Identifier.value == value))
    if holder is not None:
        if holder.party_pk == party.pk:
            return holder, False
        raise Conflict(
            f"This {type_} already identifies another party.", existing_party_id=_public_id(holder.party_pk)
        )
    identifier = Identifier(party_pk=party.pk, type=type_, value=value)
    db.session.add(identifier)
    _record(party, "identifier", type_, "added", None, value, channel, actor)
    touch(party)
    db.session.flush()
    record_event(db.session, "identifier.changed", party, {"type": type_, "action": "added"})
    return identifier, True


def remove_identifier(party_id, type_, value, channel, actor):
    party = get_party_for(actor, party_id)
    if type_ in IDENTIFIER_TYPES and not actor.may_write(type_):
        raise Forbidden(f"The caller may not write {type_} identifiers.")
    identifier = db.session.scalar(
        select(Identifier).where(Identifier.party_pk == party.pk, Identifier.type == type_, Identifier.value == value)
    )
    if identifier is None:
        raise NotFound("This party has no such identifier.")
    db.session.delete(identifier)
    _record(party, "identifier", type_, "removed", value, None, channel, actor)
    touch(party)
    db.session.flush()
    record_event(db.session, "identifier.changed", party, {"type": type_, "action": "removed"})


def identifiers_of(party):
    if party.pk is None:  # not flushed yet: a party being created has none
        return []
    return list(db.session.scalars(select(Identifier).where(Identifier.party_pk == party.pk).order_by(Identifier.pk)))


def add_cross_reference(party_id, application_code, local_id, channel, actor):
    """Record that ``application_code`` knows the party as ``local_id``.

    An application manages its own cross-references only; agents may record any.
    """
    party = get_party_for(actor, party_id)
    application_code = application_code or (actor.id if actor.type == "application" else None)
    errors = {}
    if not application_code or not APPLICATION_CODE.match(application_code):
        errors["application"] = ["An application code is 1 to 64 lowercase letters, digits, - or _."]
    if not isinstance(local_id, str) or not local_id.strip() or len(local_id) > MAX_LOCAL_ID_LENGTH or not local_id.isprintable():
        errors["local_id"] = [f"A local id is a printable text of 1 to {MAX_LOCAL_ID_LENGTH} characters."]
    if errors:
        raise ValidationFailed(errors)
    if actor.type == "application" and application_code != actor.id:
        raise Forbidden("An application records its own cross-references only.")
    local_id = local_id.strip()
    holder = db.session.scalar(
        select(CrossReference).where(
            CrossReference.application_code == application_code, CrossReference.local_id == local_id
        )
    )
    if holder is not None:
        if holder.party_pk == party.pk:
            return holder, False
        raise Conflict(
            "This local id already refers to another party.", existing_party_id=_public_id(holder.party_pk)
        )
    reference = CrossReference(party_pk=party.pk, application_code=application_code, local_id=local_id)
    db.session.add(reference)
    _record(party, "xref", application_code, "added", None, local_id, channel, actor)
    touch(party)
    db.session.flush()
    record_event(db.session, "xref.changed", party,
                 {"application": application_code, "action": "added", "author": {"type": actor.type, "id": actor.id}})
    return reference, True


def remove_cross_reference(party_id, application_code, local_id, channel, actor):
    party = get_party_for(actor, party_id)
    if actor.type == "application" and application_code != actor.id:
        raise Forbidden("An application records its own cross-references only.")
    reference = db.session.scalar(
        select(CrossReference).where(
            CrossReference.party_pk == party.pk,
            CrossReference.application_code == application_code,
            CrossReference.local_id == local_id,
        )
    )
    if reference is None:
        raise NotFound("This party has no such cross-reference.")
    db.session.delete(reference)
    _record(party, "xref", application_code, "removed", local_id, None, channel, actor)
    touch(party)
    db.session.flush()
    record_event(db.session, "xref.changed", party,
                 {"application": application_code, "action": "removed", "author": {"type": actor.type, "id": actor.id}})


def cross_references_of(party):
    if party.pk is None:
        return []
    return list(
        db.session.scalars(select(CrossReference).where(CrossReference.party_pk == party.pk).order_by(CrossReference.pk))
    )


def references_of(parties):
    """``{party pk: ([identifiers], [cross-references])}`` for many parties in two queries."""
    found = {party.pk: ([], []) for party in parties if party.pk is not None}
    if found:
        for identifier in db.session.scalars(
            select(Identifier).where(Identifier.party_pk.in_(found)).order_by(Identifier.pk)
        ):
            found[identifier.party_pk][0].append(identifier)
        for reference in db.session.scalars(
            select(CrossReference).where(CrossReference.party_pk.in_(found)).order_by(CrossReference.pk)
        ):
            found[reference.party_pk][1].append(reference)
    return found


def _public_id(party_pk):
    return str(db.session.scalar(select(Party.id).where(Party.pk == party_pk)))


def _record(party, subject, key, action, old, new, channel, actor):
    db.session.add(
        HistoryEntry(
            party_pk=party.pk,
            subject=subject,
            subject_key=key,
            action=action,
            old_value=old,
            new_value=new,
            channel=channel,
            author_type=actor.type,
            author_id=actor.id,
        )
    )
