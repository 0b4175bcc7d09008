"""Bulk inserts (COPY on PostgreSQL) store exactly what an ORM insert would, awkward
characters, JSON, UUIDs, times and NULLs included."""

import uuid
from datetime import date, datetime, timezone

from sqlalchemy import select

from gru.bulk_sql import insert_returning_pks, insert_rows
from gru.identity.models import AttributeValue, HistoryEntry
from tests.factories.identity import make_party

AWKWARD = "tab\tnew line\nreturn\rback\\slash \\N \\. é 🌴"


def test_awkward_values_come_back_as_written(db_session):
    party = make_party()
    db_session.flush()
    recorded_at = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=timezone.utc)
    document_id = uuid.uuid4()
    value = {"lines": [AWKWARD, "\\"], "postal_code": "98800", "n": 1.5, "is": True, "none": None}
    rows = [{"party_pk": party.pk, "attribute_key": "postal_address", "value": value, "channel": "import",
             "process": AWKWARD, "level": 100, "author_type": "application", "author_id": "cafat",
             "document_id": document_id, "recorded_at": recorded_at, "was_golden": False},
            {"party_pk": party.pk, "attribute_key": "birth_date", "value": None, "channel": "import",
             "process": "declared", "level": 100, "author_type": "application", "author_id": "cafat",
             "document_id": None, "recorded_at": recorded_at, "was_golden": True}]
    pks = insert_returning_pks(db_session.connection(), AttributeValue.__table__, rows)
    stored = {row.pk: row for row in db_session.scalars(select(AttributeValue).where(AttributeValue.pk.in_(pks)))}
    first, second = stored[pks[0]], stored[pks[1]]
    assert (first.value, first.process, first.document_id, first.recorded_at, first.was_golden) == \
        (value, AWKWARD, document_id, recorded_at, False)
    assert (second.value, second.document_id, second.was_golden) == (None, None, True)

    insert_rows(db_session.connection(), HistoryEntry.__table__, [{
        "party_pk": party.pk, "subject": "xref", "subject_key": "cafat", "action": "added", "old_value": None,
        "new_value": [AWKWARD, date(2026, 1, 2).isoformat()], "channel": "import", "author_type": "application",
        "author_id": "cafat", "recorded_at": recorded_at}])
    entry = db_session.scalars(select(HistoryEntry).where(HistoryEntry.party_pk == party.pk)).one()
    assert entry.new_value == [AWKWARD, "2026-01-02"] and entry.old_value is None
