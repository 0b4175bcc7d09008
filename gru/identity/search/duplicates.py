"""Duplicate suspicions: proposed on create and update and by the worker's job, reviewed
side by side, "not a duplicate" remembered (issue 6, "Duplicates and merge").

A pair is stored once, smaller party pk first; whatever its status, the detection never
proposes it again, so a pair an agent declared distinct stays distinct. A reviewer locks
a suspicion for :data:`LOCK_MINUTES`; another reviewer meanwhile gets a conflict.
"""

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from gru.bulk_sql import insert_rows
from gru.errors import Conflict, InvalidValue, NotFound, ValidationFailed
from gru.extensions import db
from gru.identity.models import Party, utcnow
from gru.identity.search import service
from gru.identity.search.models import DuplicateSuspicion, PartySearchEntry
from gru.identity.services.context import catalogue

LOCK_MINUTES = 15
JOB_BATCH = 500


class DuplicateFound(Conflict):
    """A creation with ``duplicate_check: match`` found the party already there."""

    code = "duplicate-found"
    title = "Duplicate found"


def validated_identity(kind, raw_attributes):
    """The attributes of a match request, validated by the catalogue (422 otherwise)."""
    definitions, attributes, errors = catalogue(), {}, {}
    for key, raw in raw_attributes.items():
        if key not in definitions or kind not in definitions.get(key).kinds:
            errors[f"attributes.{key}"] = [f"Not an attribute of a {kind}."]
            continue
        try:
            attributes[key] = definitions.get(key).validate(raw)
        except InvalidValue as error:
            errors[f"attributes.{key}"] = [error.detail]
    if errors:
        raise ValidationFailed(errors)
    return attributes


def find_matches(kind, raw_attributes, kinds=None, limit=10):
    """``[(party, Comparison)]`` for an identity given by a caller, best first."""
    results = service.match(kind, validated_identity(kind, raw_attributes), kinds=kinds, limit=limit)
    return _with_parties(results)


def check_before_create(kind, raw_attributes, on_possible):
    """Duplicate check of a creation (``duplicate_check: match``).

    A certain match refuses the creation (409 naming the existing party); a possible one
    refuses it too when ``on_possible`` is ``refuse``, and otherwise lets it go on: the
    caller then calls :func:`propose_for` on the new party to queue the pairs for review.
    """
    results = service.match(kind, validated_identity(kind, raw_attributes), kinds=[kind], limit=5)
    for _pk, comparison in results:
        if comparison.decision == "match" or on_possible == "refuse":
            party = db.session.get(Party, _pk)
            raise DuplicateFound(
                "This party already exists." if comparison.decision == "match"
                else "A party like this one may already exist.",
                existing_party_id=str(party.id),
            )
    return results


#: attributes whose change may make a party someone else's duplicate: checked at once on
#: update. A change of contact details only (e-mail, phones, address: weak evidence, +2 at
#: most) is left to the job, which sees the party pending since its index was rewritten;
#: it keeps PATCH fast for what desks and applications update most.
IDENTIFYING_ATTRIBUTES = frozenset({
    "family_name", "usage_name", "given_names", "birth_date", "birth_place", "birth_country", "sex",
    "name", "legal_name", "siren", "siret", "ridet", "rna",
})


def propose_after_update(party, changed_keys):
    """The duplicate check of an update: at once when an identifying attribute's golden
    value changed (:data:`IDENTIFYING_ATTRIBUTES`), else by the job."""
    if IDENTIFYING_ATTRIBUTES.isdisjoint(changed_keys):
        return []
    return propose_for(party, origin="update")


def propose_for(party, origin="update"):
    """Match ``party`` against the others and queue the pairs not seen before."""
    db.session.flush()
    entry = db.session.get(PartySearchEntry, party.pk)
    if entry is None:
        return []
    attributes = {golden.attribute_key: golden.value.value for golden in party.golden if golden.value.value is not None}
    results = service.match(party.kind, attributes, kinds=[party.kind], limit=10, exclude_pk=party.pk)
    entry.is_dedup_pending = False
    proposed = []
    for other_pk, comparison in results:
        first, second = sorted((party.pk, other_pk))
        known = db.session.scalar(select(DuplicateSuspicion.pk).where(
            DuplicateSuspicion.party_a_pk == first, DuplicateSuspicion.party_b_pk == second))
        if known is not None:
            continue
        suspicion = DuplicateSuspicion(
            party_a_pk=first, party_b_pk=second, score=comparison.score, decision=comparison.decision,
            explanation=comparison.explanation, status="open", origin=origin,
        )
        db.session.add(suspicion)
        proposed.append(suspicion)
    db.session.flush()
    return proposed


def detect_pending(limit=JOB_BATCH):
    """The job: propose pairs for the parties changed since it last looked, persons in
    bulk (:func:`gru.identity.search.bulk.match_many`). Returns the number of parties
    examined and of suspicions proposed."""
    from gru.identity.search.bulk import match_many

    rows = db.session.execute(
        select(PartySearchEntry.party_pk, PartySearchEntry.kind, PartySearchEntry.profile)
        .where(PartySearchEntry.is_dedup_pending.is_(True)).order_by(PartySearchEntry.party_pk).limit(limit)).all()
    pks = [row.party_pk for row in rows]
    proposed = 0
    persons = [row for row in rows if row.kind == "person"]
    results = match_many("person", [row.profile for row in persons], exclude_pks=[row.party_pk for row in persons],
                         are_profiles=True) if persons else []
    pairs = {}
    for row, found in zip(persons, results):
        for other_pk, comparison in found:
            pairs.setdefault(tuple(sorted((row.party_pk, other_pk))), comparison)
    others = [row.party_pk for row in rows if row.kind != "person"]
    for party in db.session.scalars(select(Party).where(Party.pk.in_(others), Party.status == "active")):
        proposed += len(propose_for(party, origin="job"))
    proposed += store_pairs(pairs, origin="job")
    db.session.execute(update(PartySearchEntry).where(PartySearchEntry.party_pk.in_(pks)).values(is_dedup_pending=False))
    return len(pks), proposed


def store_pairs(pairs, origin):
    """Add the pairs ``{(smaller pk, larger pk): Comparison}`` not known yet (whatever
    their status) as open suspicions; returns how many were added."""
    if not pairs:
        return 0
    involved = sorted({pk for pair in pairs for pk in pair})
    known = set()
    for start in range(0, len(involved), 1000):
        chunk = involved[start:start + 1000]
        known.update(tuple(row) for row in db.session.execute(select(
            DuplicateSuspicion.party_a_pk, DuplicateSuspicion.party_b_pk).where(DuplicateSuspicion.party_a_pk.in_(chunk))))
    now = utcnow()
    # one COPY, not an ORM object each (measured: the 28,646 pairs of a 1,000,000-line initial load
    # took 21 s as objects, its commit included)
    fresh = [{"id": uuid.uuid4(), "party_a_pk": first, "party_b_pk": second, "score": comparison.score,
              "decision": comparison.decision, "explanation": comparison.explanation, "status": "open",
              "origin": origin, "created_at": now}
             for (first, second), comparison in pairs.items() if (first, second) not in known]
    db.session.flush()
    insert_rows(db.session.connection(), DuplicateSuspicion.__table__, fresh)
    return len(fresh)


def list_suspicions(status="open", after_pk=None, limit=50, kinds=None):
    query = select(DuplicateSuspicion).where(DuplicateSuspicion.status == status).order_by(DuplicateSuspicion.pk)
    if after_pk:
        query = query.where(DuplicateSuspicion.pk > after_pk)
    return list(db.session.scalars(query.limit(limit)))


def get_suspicion(suspicion_id):
    suspicion = db.session.scalar(select(DuplicateSuspicion).where(DuplicateSuspicion.id == suspicion_id))
    if suspicion is None:
        raise NotFound("No duplicate suspicion has this id.")
    return suspicion


def parties_of(suspicion):
    return [db.session.get(Party, suspicion.party_a_pk), db.session.get(Party, suspicion.party_b_pk)]


def start_review(suspicion_id, reviewer):
    """Lock the suspicion for ``reviewer``; 409 while another reviewer holds it."""
    suspicion = get_suspicion(suspicion_id)
    _check_lock(suspicion, reviewer)
    if suspicion.status != "open":
        raise Conflict(f"This suspicion is already {suspicion.status}.")
    suspicion.locked_by = reviewer
    suspicion.locked_until = utcnow() + timedelta(minutes=LOCK_MINUTES)
    db.session.flush()
    return suspicion


def decide_not_duplicate(suspicion_id, reviewer):
    """"Not a duplicate": remembered, never proposed again."""
    suspicion = get_suspicion(suspicion_id)
    _check_lock(suspicion, reviewer)
    if suspicion.status != "open":
        raise Conflict(f"This suspicion is already {suspicion.status}.")
    suspicion.status = "not_duplicate"
    _close(suspicion, reviewer)
    return suspicion


def close_merged(suspicion, reviewer):
    _check_lock(suspicion, reviewer)
    suspicion.status = "merged"
    _close(suspicion, reviewer)


def _close(suspicion, reviewer):
    suspicion.decided_by = reviewer
    suspicion.decided_at = utcnow()
    suspicion.locked_by = None
    suspicion.locked_until = None
    db.session.flush()


def _check_lock(suspicion, reviewer):
    if suspicion.locked_by and suspicion.locked_by != reviewer and suspicion.locked_until > utcnow():
        raise Conflict(f"This suspicion is under review by {suspicion.locked_by} until "
                       f"{suspicion.locked_until.isoformat(timespec='minutes')}.")


def _with_parties(results):
    parties = {party.pk: party for party in db.session.scalars(select(Party).where(Party.pk.in_([pk for pk, _ in results])))}
    return [(parties[pk], comparison) for pk, comparison in results if pk in parties]
