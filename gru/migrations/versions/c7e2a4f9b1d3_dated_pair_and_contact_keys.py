"""dated pair and contact keys: blocking keys of bulk matching added to the search index

Bulk matching (gru.identity.search.bulk) now looks namesakes up under their pair key
with the birth year or with the day and month (``q:y1975:a:b``, ``q:m0312:a:b``,
``q:-:a:b`` without a birth date), and persons under their e-mail (``e:``) and phones
(``t:``). The rows of parties already indexed are derived here from what the index
holds (their ``pair`` and ``birth_date`` tokens, the e-mail and phones of their
profile), in SQL: the same tokens :func:`gru.identity.search.index.tokens_of` writes.

Revision ID: c7e2a4f9b1d3
Revises: b3f7d2a9c1e8
Create Date: 2026-12-01 12:00:00

"""
from alembic import op

revision = 'c7e2a4f9b1d3'
down_revision = 'b3f7d2a9c1e8'
branch_labels = None
depends_on = None

_DATED = """
INSERT INTO party_search_tokens (token, party_pk, field)
SELECT DISTINCT substr({prefix} || substr(pair.token, 3), 1, 64), pair.party_pk, 'dated_pair'
FROM party_search_tokens pair
{join} party_search_tokens born ON born.party_pk = pair.party_pk AND born.field = 'birth_date'
WHERE pair.field = 'pair' {condition}
"""
#: a birth-date token is ``dYYYYMMDD``
_YEAR = "'q:y' || substr(born.token, 2, 4) || ':'"
_DAY = "'q:m' || substr(born.token, 6, 4) || ':'"

_CONTACTS = {
    'postgresql': [
        "SELECT DISTINCT substr('e:' || (profile->>'email'), 1, 64), party_pk, 'email' FROM party_search_entries "
        "WHERE kind = 'person' AND profile->>'email' IS NOT NULL",
        "SELECT DISTINCT substr('t:' || phone, 1, 64), party_pk, 'phone' FROM party_search_entries, "
        "jsonb_array_elements_text(CASE WHEN jsonb_typeof(profile->'phones') = 'array' THEN profile->'phones' "
        "ELSE '[]'::jsonb END) AS phone WHERE kind = 'person'",
    ],
    'sqlite': [
        "SELECT DISTINCT substr('e:' || json_extract(profile, '$.email'), 1, 64), party_pk, 'email' "
        "FROM party_search_entries WHERE kind = 'person' AND json_extract(profile, '$.email') IS NOT NULL",
        "SELECT DISTINCT substr('t:' || phone.value, 1, 64), party_pk, 'phone' FROM party_search_entries, "
        "json_each(party_search_entries.profile, '$.phones') AS phone WHERE kind = 'person'",
    ],
}


def upgrade():
    op.execute(_DATED.format(prefix=_YEAR, join="JOIN", condition=""))
    op.execute(_DATED.format(prefix=_DAY, join="JOIN", condition=""))
    op.execute(_DATED.format(prefix="'q:-:'", join="LEFT JOIN", condition="AND born.party_pk IS NULL"))
    for select in _CONTACTS[op.get_bind().dialect.name]:
        op.execute(f"INSERT INTO party_search_tokens (token, party_pk, field) {select}")


def downgrade():
    op.execute("DELETE FROM party_search_tokens WHERE field IN ('dated_pair', 'email', 'phone')")
