"""Creating, reading, updating and listing parties."""

import base64
import binascii
import uuid

from sqlalchemy import exists, select

from gru.errors import InvalidValue, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from gru.extensions import db
from gru.identity.catalogue import PARTY_KINDS
from gru.identity.models import CrossReference, GoldenValue, Identifier, Party, utcnow
from gru.identity.services.context import catalogue
from gru.identity.services.values import UPDATED, check_attributes, record_values


def create_party(kind, attributes, provenance, actor):
    """Create a party with its first values. Returns ``(party, outcomes)``."""
    if kind not in PARTY_KINDS:
        raise ValidationFailed({"kind": [f"Unknown party kind; expected one of {', '.join(PARTY_KINDS)}."]})
    actor.check_kind(kind)
    checked, outcomes = check_attributes(kind, attributes, provenance, actor)
    # The id (and what the answer shows) is set here, not at flush, so that callers creating
    # many parties (demo, imports, benchmarks) can flush once per batch, and the answer of a
    # creation without values is complete before any flush.
    now = utcnow()
    party = Party(id=uuid.uuid4(), kind=kind, version=1, status="active", created_at=now, updated_at=now)
    db.session.add(party)
    record_values(party, checked, provenance, actor, outcomes)
    return party, outcomes


def get_party(party_id):
    party = db.session.scalar(select(Party).where(Party.id == party_id))
    if party is None:
        raise NotFound("No party has this id.")
    return party


def get_party_for(actor, party_id):
    """The party, when the actor's rights cover its kind."""
    party = get_party(party_id)
    actor.check_kind(party.kind)
    return party


def check_if_match(resource, if_match):
    """RFC 9110 section 13.1.1 with RFC 6585 section 3: updates must be conditional."""
    if not if_match:
        raise PreconditionRequired("This update needs an If-Match header with the ETag of the record.")
    candidates = {tag.strip() for tag in if_match.split(",")}
    if "*" not in candidates and resource.etag not in candidates:
        raise PreconditionFailed("The record changed since it was read; read it again and retry.")


def update_party(party_id, if_match, attributes, provenance, actor):
    """Record new values for an existing party. Returns ``(party, outcomes)``."""
    party = get_party_for(actor, party_id)
    check_if_match(party, if_match)
    if party.status != "active":
        raise InvalidValue(f"This party is {party.status} and cannot be changed.")
    checked, outcomes = check_attributes(party.kind, attributes, provenance, actor)
    changed = record_values(party, checked, provenance, actor, outcomes)
    if changed or any(outcome.status != UPDATED for outcome in outcomes.values()):
        touch(party)
    db.session.flush()
    return party, outcomes


def touch(party):
    """Mark the party changed: its version (and so its ETag) moves on."""
    party.updated_at = utcnow()


def golden_attributes(party):
    """{key: golden value} of the party, cleared attributes left out."""
    return {
        golden.attribute_key: golden.value.value
        for golden in party.golden
        if golden.value.value is not None
    }


def encode_cursor(position):
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor given by a previous page."]}) from None


def split_pair(name, raw):
    first, separator, second = raw.partition(":")
    if not separator or not first or not second:
        raise ValidationFailed({name: [f"Expected {name}=KEY:VALUE, got {raw!r}."]})
    return first, second


def list_parties(*, kinds=None, where=(), xref=None, identifier=None, cursor=None, limit=50):
    """Parties matching every filter, oldest first. Returns ``(parties, next_cursor)``.

    ``where`` holds ``attribute:value`` equality filters on golden values, compared on the
    normalised form (so ``+687 75.12.34`` finds ``+687751234``).
    """
    query = select(Party).where(Party.status != "erased").order_by(Party.pk)
    if kinds is not None:
        query = query.where(Party.kind.in_(kinds))
    definitions = catalogue()
    for raw in where:
        key, text = split_pair("where", raw)
        if key not in definitions:
            raise ValidationFailed({"where": [f"Unknown attribute {key!r}."]})
        definition = definitions.get(key)
        try:
            lookup = definition.lookup_key(definition.validate(_filter_input(definition, text)))
        except InvalidValue as error:
            raise ValidationFailed({"where": [f"{key}: {error.detail}"]}) from None
        query = query.where(
            exists().where(
                GoldenValue.party_pk == Party.pk,
                GoldenValue.attribute_key == key,
                GoldenValue.lookup == lookup,
            )
        )
    if xref is not None:
        application_code, local_id = split_pair("xref", xref)
        query = query.where(
            exists().where(
                CrossReference.party_pk == Party.pk,
                CrossReference.application_code == application_code,
                CrossReference.local_id == local_id,
            )
        )
    if identifier is not None:
        type_, value = split_pair("identifier", identifier)
        query = query.where(
            exists().where(Identifier.party_pk == Party.pk, Identifier.type == type_, Identifier.value == value)
        )
    if cursor:
        query = query.where(Party.pk > decode_cursor(cursor))
    parties = list(db.session.scalars(query.limit(limit + 1)))
    next_cursor = encode_cursor(parties[limit - 1].pk) if len(parties) > limit else None
    return parties[:limit], next_cursor


def _filter_input(definition, text):
    """Structured attributes are filtered on their JSON form; the others on the text."""
    if definition.type == "postal_address":
        import json

        try:
            return json.loads(text)
        except ValueError:
            raise InvalidValue("an address filter is a JSON object") from None
    return text
