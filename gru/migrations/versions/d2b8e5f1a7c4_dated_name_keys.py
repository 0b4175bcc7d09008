"""dated name keys: each name token of a person with the birth date, for bulk matching

Bulk matching (gru.identity.search.bulk) finds the persons born the same day who share
a name under ``n:YYYYMMDD:TERM`` instead of reading every holder of the birth date with
its names. The rows of persons already indexed are derived here from their name and
birth-date tokens: the same tokens :func:`gru.identity.search.index.tokens_of` writes.

Revision ID: d2b8e5f1a7c4
Revises: c7e2a4f9b1d3
Create Date: 2026-12-01 12:30:00

"""
from alembic import op

revision = 'd2b8e5f1a7c4'
down_revision = 'c7e2a4f9b1d3'
branch_labels = None
depends_on = None


def upgrade():
    # a birth-date token is ``dYYYYMMDD``
    op.execute("""
        INSERT INTO party_search_tokens (token, party_pk, field)
        SELECT DISTINCT substr('n:' || substr(born.token, 2) || ':' || name.token, 1, 64), name.party_pk, 'dated_name'
        FROM party_search_tokens name
        JOIN party_search_tokens born ON born.party_pk = name.party_pk AND born.field = 'birth_date'
        WHERE name.field IN ('family_name', 'usage_name', 'given_names')
    """)


def downgrade():
    op.execute("DELETE FROM party_search_tokens WHERE field = 'dated_name'")
