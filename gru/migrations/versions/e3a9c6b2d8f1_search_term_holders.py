"""search term holders: how many parties hold each name term, and their alias keys

Bulk matching no longer expands a name to its misspellings, the variants held by ten
times fewer parties (gru.identity.search.vocabulary); a party holding a misspelling is
indexed under the common form too (alias keys, written by gru.identity.search.index). The counts of the
parties already indexed are taken here from their name tokens; their alias keys are
written by ``gru search reindex``, to run once after this upgrade: until then a party
whose name is a misspelling is found by bulk matching from its own side only.

Revision ID: e3a9c6b2d8f1
Revises: d7c2e5a1f9b4
Create Date: 2026-12-01 21:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e3a9c6b2d8f1'
down_revision = 'd7c2e5a1f9b4'
branch_labels = None
depends_on = None

#: gru.identity.search.index.KEY_FIELDS when this revision was written
KEY_FIELDS = ("birth_date", "pair", "dated_pair", "dated_name", "ssn", "address", "email", "phone", "alias")


def upgrade():
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("holders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_search_terms")),
    )
    fields = ", ".join(f"'{field}'" for field in KEY_FIELDS)
    op.execute(f"""
        INSERT INTO search_terms (term, holders)
        SELECT token, count(DISTINCT party_pk) FROM party_search_tokens
        WHERE field NOT IN ({fields}) GROUP BY token
    """)


def downgrade():
    op.execute("DELETE FROM party_search_tokens WHERE field = 'alias'")
    op.drop_table("search_terms")
