"""search, matching, duplicates and merge: search index tables, suspicions, merge records

The search index (``party_search_tokens``, ``search_term_keys``, ``party_search_entries``)
is made of plain B-tree indexed tables, identical on SQLite and PostgreSQL, so that a query
finds the same parties on both (issue 6). Existing parties are indexed by
``gru search reindex`` after the upgrade.

Revision ID: 9a4e6b1c3d57
Revises: 9a3e5c7d2f14
Create Date: 2026-12-01 07:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import gru.dbtypes

revision = '9a4e6b1c3d57'
down_revision = '9a3e5c7d2f14'
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'party_search_tokens',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('party_pk', BIG_PK, nullable=False),
        sa.Column('field', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['party_pk'], ['parties.pk'], name=op.f('fk_party_search_tokens_party_pk_parties')),
        sa.PrimaryKeyConstraint('token', 'party_pk', 'field', name=op.f('pk_party_search_tokens')),
    )
    op.create_index('ix_party_search_tokens_party_pk', 'party_search_tokens', ['party_pk'])
    op.create_table(
        'search_term_keys',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('term', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('key', 'term', name=op.f('pk_search_term_keys')),
    )
    op.create_table(
        'party_search_entries',
        sa.Column('party_pk', BIG_PK, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('profile', JSON, nullable=False),
        sa.Column('is_dedup_pending', sa.Boolean(), nullable=False),
        sa.Column('indexed_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['party_pk'], ['parties.pk'], name=op.f('fk_party_search_entries_party_pk_parties')),
        sa.PrimaryKeyConstraint('party_pk', name=op.f('pk_party_search_entries')),
    )
    op.create_index('ix_party_search_entries_pending', 'party_search_entries', ['is_dedup_pending'])
    op.create_table(
        'duplicate_suspicions',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('party_a_pk', BIG_PK, nullable=False),
        sa.Column('party_b_pk', BIG_PK, nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('explanation', JSON, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('locked_by', sa.String(length=128), nullable=True),
        sa.Column('locked_until', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=128), nullable=True),
        sa.Column('decided_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['party_a_pk'], ['parties.pk'], name=op.f('fk_duplicate_suspicions_party_a_pk_parties')),
        sa.ForeignKeyConstraint(['party_b_pk'], ['parties.pk'], name=op.f('fk_duplicate_suspicions_party_b_pk_parties')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_duplicate_suspicions')),
        sa.UniqueConstraint('id', name=op.f('uq_duplicate_suspicions_id')),
        sa.UniqueConstraint('party_a_pk', 'party_b_pk', name=op.f('uq_duplicate_suspicions_party_a_pk_party_b_pk')),
    )
    op.create_index('ix_duplicate_suspicions_party_a_pk', 'duplicate_suspicions', ['party_a_pk'])
    op.create_index('ix_duplicate_suspicions_party_b_pk', 'duplicate_suspicions', ['party_b_pk'])
    op.create_index('ix_duplicate_suspicions_status', 'duplicate_suspicions', ['status'])
    op.create_table(
        'party_merges',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('survivor_pk', BIG_PK, nullable=False),
        sa.Column('merged_pk', BIG_PK, nullable=False),
        sa.Column('moved', JSON, nullable=False),
        sa.Column('golden_before', JSON, nullable=False),
        sa.Column('merged_by', sa.String(length=128), nullable=False),
        sa.Column('merged_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('unmerged_by', sa.String(length=128), nullable=True),
        sa.Column('unmerged_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('unmerge_report', JSON, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['survivor_pk'], ['parties.pk'], name=op.f('fk_party_merges_survivor_pk_parties')),
        sa.ForeignKeyConstraint(['merged_pk'], ['parties.pk'], name=op.f('fk_party_merges_merged_pk_parties')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_party_merges')),
        sa.UniqueConstraint('id', name=op.f('uq_party_merges_id')),
    )
    op.create_index('ix_party_merges_survivor_pk', 'party_merges', ['survivor_pk'])
    op.create_index('ix_party_merges_merged_pk', 'party_merges', ['merged_pk'])


def downgrade():
    op.drop_table('party_merges')
    op.drop_table('duplicate_suspicions')
    op.drop_table('party_search_entries')
    op.drop_table('search_term_keys')
    op.drop_table('party_search_tokens')
