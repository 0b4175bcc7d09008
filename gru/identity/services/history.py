"""The change history of one party, read from the appended values and the history entries."""

from sqlalchemy import select

from gru.extensions import db
from gru.identity.models import AttributeValue, HistoryEntry


def party_history(party):
    """Every change of ``party`` (a loaded party), oldest first.

    Values are their own history: each recorded value is an entry, with as ``old`` the
    golden value it replaced (or nothing when it was kept at a lower level).
    """
    entries = []
    golden = {}
    values = db.session.scalars(
        select(AttributeValue).where(AttributeValue.party_pk == party.pk).order_by(AttributeValue.pk)
    )
    for value in values:
        old = golden.get(value.attribute_key)
        if value.was_golden:
            golden[value.attribute_key] = value.value
        entries.append(
            {
                "recorded_at": value.recorded_at,
                "subject": "attribute",
                "key": value.attribute_key,
                "action": "recorded" if value.was_golden else "kept_lower_level",
                "old": old,
                "new": value.value,
                "channel": value.channel,
                "process": value.process,
                "level": value.level,
                "author": {"type": value.author_type, "id": value.author_id},
                "document_id": value.document_id,
            }
        )
    for entry in db.session.scalars(
        select(HistoryEntry).where(HistoryEntry.party_pk == party.pk).order_by(HistoryEntry.pk)
    ):
        entries.append(
            {
                "recorded_at": entry.recorded_at,
                "subject": entry.subject,
                "key": entry.subject_key,
                "action": entry.action,
                "old": entry.old_value,
                "new": entry.new_value,
                "channel": entry.channel,
                "author": {"type": entry.author_type, "id": entry.author_id},
            }
        )
    entries.sort(key=lambda item: item["recorded_at"])
    return entries
