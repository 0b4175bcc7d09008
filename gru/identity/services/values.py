"""Recording attribute values and choosing the golden one (survivorship).

DESIGN.md "golden value": the highest certification level, then the most recent. A
value recorded now is always the most recent, so it becomes golden unless the golden
value has a higher level; then it is kept in history only (``kept_lower_level``).
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from gru.bulk_sql import insert_returning_pks, insert_rows
from gru.errors import InvalidValue, ValidationFailed
from gru.extensions import db
from gru.identity.models import AttributeValue, GoldenValue, utcnow
from gru.identity.search import index as search_index
from gru.identity.search.sql import among
from gru.identity.services.context import catalogue

UPDATED = "updated"
UNCHANGED = "unchanged"
KEPT_LOWER_LEVEL = "kept_lower_level"
INVALID = "invalid"
FORBIDDEN = "forbidden"

#: level recorded for attributes the catalogue marks as not certifiable
UNCERTIFIED_LEVEL = 100


@dataclass
class AttributeOutcome:
    status: str
    reason: str | None = None

    def as_dict(self):
        return {"status": self.status, "reason": self.reason} if self.reason else {"status": self.status}


@dataclass
class _Checked:
    key: str
    value: object
    level: int


def check_attributes(kind, attributes, provenance, actor):
    """Validate a write before anything is stored.

    Returns ``(checked, outcomes)``: the values that may be written, and the outcome of
    those that may not (``forbidden``). Raises :class:`ValidationFailed` carrying the
    per-attribute outcomes when any value is invalid, so that a request with one bad
    value stores nothing.
    """
    definitions = catalogue()
    checked, outcomes, errors = [], {}, {}
    for key, raw in attributes.items():
        if key not in definitions:
            outcomes[key] = AttributeOutcome(INVALID, "Unknown attribute.")
            continue
        definition = definitions.get(key)
        if kind not in definition.kinds:
            outcomes[key] = AttributeOutcome(INVALID, f"Attribute {key} does not apply to a {kind}.")
            continue
        if not actor.may_write(key):
            outcomes[key] = AttributeOutcome(FORBIDDEN, "The caller may not write this attribute.")
            continue
        level = provenance.level if definition.is_certifiable else UNCERTIFIED_LEVEL
        if level > actor.max_level:
            outcomes[key] = AttributeOutcome(
                FORBIDDEN, f"The caller may not claim certification level {level}."
            )
            continue
        try:
            value = None if raw is None else definition.validate(raw)
        except InvalidValue as error:
            outcomes[key] = AttributeOutcome(INVALID, error.detail)
            continue
        checked.append(_Checked(key, value, level))
    for key, outcome in outcomes.items():
        if outcome.status == INVALID:
            errors[f"attributes.{key}"] = [outcome.reason]
    if errors:
        failure = ValidationFailed(errors, detail="Some attribute values are invalid; nothing was stored.")
        failure.extra["attributes"] = {key: outcome.as_dict() for key, outcome in outcomes.items()}
        raise failure
    return checked, outcomes


def record_values(party, checked, provenance, actor, outcomes):
    """Append the checked values to ``party`` and move the golden pointers.

    Fills ``outcomes`` with ``updated``, ``unchanged`` or ``kept_lower_level`` and
    returns the keys whose golden value changed.
    """
    definitions = catalogue()
    golden_by_key = {golden.attribute_key: golden for golden in party.golden}
    changed = []
    now = utcnow()
    # Fetched once: each access to a write-only collection builds a new query object.
    values = party.values
    for item in checked:
        golden = golden_by_key.get(item.key)
        current = golden.value if golden is not None else None
        status = survivorship(None if current is None else (current.value, current.level), item, actor)
        if status == UNCHANGED:
            outcomes[item.key] = AttributeOutcome(UNCHANGED)
            continue
        value = AttributeValue(
            attribute_key=item.key,
            value=item.value,
            channel=provenance.channel,
            process=provenance.process if item.level == provenance.level else "declared",
            level=item.level,
            author_type=actor.type,
            author_id=actor.id,
            document_id=provenance.document_id,
            recorded_at=now,
            was_golden=status == UPDATED,
        )
        values.add(value)
        if status == KEPT_LOWER_LEVEL:
            outcomes[item.key] = _kept_lower(current.level)
            continue
        lookup = "" if item.value is None else definitions.get(item.key).lookup_key(item.value)
        if golden is None:
            golden = GoldenValue(attribute_key=item.key, lookup=lookup)
            party.golden.append(golden)
            golden_by_key[item.key] = golden
        golden.value = value
        golden.lookup = lookup
        outcomes[item.key] = AttributeOutcome(UPDATED)
        changed.append(item.key)
    if changed:
        search_index.note_change(party)  # issue 6: the search index follows golden values
    return changed


def survivorship(current, item, actor):
    """DESIGN.md "golden value", for one checked value against ``current``, the
    ``(value, level)`` of the golden value (None: the party has none). Returns
    ``unchanged`` (the same value at the same or a lower level: nothing new is learnt,
    nothing is stored), ``updated`` (it becomes golden) or ``kept_lower_level`` (stored
    in history only, below the level of the golden value)."""
    if current is None:
        return UNCHANGED if item.value is None else UPDATED
    value, level = current
    if value == item.value and item.level <= level:
        return UNCHANGED
    return UPDATED if item.level >= level or actor.may_correct_below_level else KEPT_LOWER_LEVEL


def _kept_lower(level):
    return AttributeOutcome(
        KEPT_LOWER_LEVEL, f"The stored value is certified at level {level}; this one was kept in history.")


def record_values_many(items, provenance, actor):
    """The bulk twin of :func:`record_values`, for imports: ``items`` are ``(party_pk,
    checked)`` of stored parties, applied in order (several may name one party, each then
    sees the golden values the previous ones left), by the same rule (:func:`survivorship`).

    Rows go in with multi-row INSERTs and one UPDATE of the golden pointers that move
    (:mod:`gru.bulk_sql`), on the session's connection after a flush. Returns ``(outcomes
    per item, {party_pk: {key: golden value}})``: the second holds every golden value of
    the parties whose golden values changed, for the caller to index them and tell it.
    """
    if not items:
        return [], {}
    db.session.flush()
    connection = db.session.connection()
    pks = sorted({pk for pk, _checked in items})
    current, golden = {}, {pk: {} for pk in pks}
    for pk, key, value, level in connection.execute(
            select(GoldenValue.party_pk, GoldenValue.attribute_key, AttributeValue.value, AttributeValue.level)
            .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk).where(among(GoldenValue.party_pk, pks))):
        current[pk, key] = (value, level)
        if value is not None:
            golden[pk][key] = value
    stored = set(current)
    rows, moves = [], {}
    results, changed_pks = record_in_order(items, current, golden, rows, moves, provenance, actor, utcnow())
    value_pks = insert_returning_pks(connection, AttributeValue.__table__, rows)
    table = GoldenValue.__table__
    pointers = [{"b_party": pk, "b_key": key, "b_value": value_pks[index], "b_lookup": lookup}
                for (pk, key), (index, lookup) in moves.items()]
    moved = [pointer for pointer in pointers if (pointer["b_party"], pointer["b_key"]) in stored]
    if moved:
        connection.execute(update(table).where(table.c.party_pk == bindparam("b_party"),
                                               table.c.attribute_key == bindparam("b_key"))
                           .values(value_pk=bindparam("b_value"), lookup=bindparam("b_lookup")), moved)
    insert_rows(connection, table, [
        {"party_pk": pointer["b_party"], "attribute_key": pointer["b_key"], "value_pk": pointer["b_value"],
         "lookup": pointer["b_lookup"]} for pointer in pointers if (pointer["b_party"], pointer["b_key"]) not in stored])
    return results, {pk: golden[pk] for pk in sorted(changed_pks)}


def record_in_order(items, current, golden, rows, moves, provenance, actor, now):
    """Apply ``items`` (``(party, checked)``, several may name one party) in order by
    :func:`survivorship`, in memory: ``current`` holds the golden ``(value, level)`` of
    each ``(party, key)``, and ``golden`` each party's ``{key: value}``, both brought
    up to date; the value rows to store are appended to ``rows``, and ``moves`` tells
    which row each golden pointer that moves takes (``{(party, key): (row index,
    lookup)}``). ``party`` is whatever keys the caller's parties (a pk, or the place of
    a party not written yet); ``now``: the time the rows are recorded at. Returns
    ``(outcomes per item, parties whose golden values changed)``."""
    definitions = catalogue()
    results, changed = [], set()
    for party, checked in items:
        outcomes = {}
        for item in checked:
            status = survivorship(current.get((party, item.key)), item, actor)
            if status == UNCHANGED:
                outcomes[item.key] = AttributeOutcome(UNCHANGED)
                continue
            rows.append({
                "party_pk": party, "attribute_key": item.key, "value": item.value, "channel": provenance.channel,
                "process": provenance.process if item.level == provenance.level else "declared",
                "level": item.level, "author_type": actor.type, "author_id": actor.id,
                "document_id": provenance.document_id, "recorded_at": now, "was_golden": status == UPDATED,
            })
            if status == KEPT_LOWER_LEVEL:
                outcomes[item.key] = _kept_lower(current[party, item.key][1])
                continue
            lookup = "" if item.value is None else definitions.get(item.key).lookup_key(item.value)
            moves[party, item.key] = (len(rows) - 1, lookup)
            current[party, item.key] = (item.value, item.level)
            if item.value is None:
                golden[party].pop(item.key, None)
            else:
                golden[party][item.key] = item.value
            outcomes[item.key] = AttributeOutcome(UPDATED)
            changed.add(party)
        results.append(outcomes)
    return results, changed
