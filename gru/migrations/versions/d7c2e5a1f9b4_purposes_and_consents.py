"""purposes register and consents; consent rights in service contracts

Revision ID: d7c2e5a1f9b4
Revises: d2b8e5f1a7c4
Create Date: 2026-12-01 11:45:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import gru.dbtypes

revision = 'd7c2e5a1f9b4'
down_revision = 'd2b8e5f1a7c4'
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'purposes',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('lawful_basis', sa.String(length=32), nullable=False),
        sa.Column('data_categories', JSON, nullable=False),
        sa.Column('recipients', JSON, nullable=False),
        sa.Column('retention_days', sa.Integer(), nullable=True),
        sa.Column('retention_text', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=False),
        sa.Column('updated_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('retired_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "lawful_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', "
            "'legitimate_interests')", name=op.f('ck_purposes_lawful_basis')),
        sa.CheckConstraint('retention_days IS NOT NULL OR retention_text IS NOT NULL',
                           name=op.f('ck_purposes_retention')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_purposes')),
        sa.UniqueConstraint('code', name=op.f('uq_purposes_code')),
    )
    op.create_table(
        'consents',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('party_pk', BIG_PK, nullable=False),
        sa.Column('purpose_code', sa.String(length=64), nullable=False),
        sa.Column('application_code', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('author_type', sa.String(length=16), nullable=False),
        sa.Column('author_id', sa.String(length=128), nullable=False),
        sa.Column('text_version', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.CheckConstraint("state IN ('given', 'withdrawn')", name=op.f('ck_consents_state')),
        sa.ForeignKeyConstraint(['party_pk'], ['parties.pk'], name=op.f('fk_consents_party_pk_parties')),
        sa.ForeignKeyConstraint(['purpose_code'], ['purposes.code'], name=op.f('fk_consents_purpose_code_purposes')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_consents')),
        sa.UniqueConstraint('id', name=op.f('uq_consents_id')),
    )
    op.create_index('ix_consents_party_purpose', 'consents', ['party_pk', 'purpose_code', 'pk'])
    with op.batch_alter_table('service_contracts') as batch:
        batch.add_column(sa.Column('consents', JSON, nullable=False, server_default=sa.text("'[]'")))


def downgrade():
    with op.batch_alter_table('service_contracts') as batch:
        batch.drop_column('consents')
    op.drop_index('ix_consents_party_purpose', table_name='consents')
    op.drop_table('consents')
    op.drop_table('purposes')
