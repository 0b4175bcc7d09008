"""Recording attribute values and choosing the golden one (survivorship).

DESIGN.md "golden value": the highest certification level, then the most recent. A
value recorded now is always the most recent, so it becomes golden unless the golden
value has a higher level; then it is kept in history only (``kept_lower_level``).
"""

from dataclasses import dataclass

from gru.errors import InvalidValue, ValidationFailed
from gru.identity.models import AttributeValue, GoldenValue, utcnow
from gru.identity.search import index as search_index
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
        if _is_same_value(current, item):
            outcomes[item.key] = AttributeOutcome(UNCHANGED)
            continue
        becomes_golden = (
            current is None or item.level >= current.level or actor.may_correct_below_level
        )
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
            was_golden=becomes_golden,
        )
        values.add(value)
        if not becomes_golden:
            outcomes[item.key] = AttributeOutcome(
                KEPT_LOWER_LEVEL,
                f"The stored value is certified at level {current.level}; this one was kept in history.",
            )
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


def _is_same_value(current, item):
    """Unchanged: the same value at the same or a lower level (nothing new is learnt)."""
    if current is None:
        return item.value is None
    return current.value == item.value and item.level <= current.level
