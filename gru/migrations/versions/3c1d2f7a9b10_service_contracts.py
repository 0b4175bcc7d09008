"""service contracts: per-application purposes, kinds, attribute rights, levels

Revision ID: 3c1d2f7a9b10
Revises: e56aaab383d8
Create Date: 2026-11-23 04:40:00

"""
from alembic import op
import sqlalchemy as sa
import gru.dbtypes
from sqlalchemy.dialects import postgresql

revision = '3c1d2f7a9b10'
down_revision = 'e56aaab383d8'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'service_contracts',
        sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('application_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('purposes', JSON, nullable=False),
        sa.Column('party_kinds', JSON, nullable=False),
        sa.Column('attributes', JSON, nullable=False),
        sa.Column('max_level', sa.Integer(), nullable=False),
        sa.Column('document_types', JSON, nullable=False),
        sa.Column('events', JSON, nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['application_pk'], ['applications.pk'],
                                name=op.f('fk_service_contracts_application_pk_applications')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_service_contracts')),
        sa.UniqueConstraint('application_pk', 'version', name=op.f('uq_service_contracts_application_pk_version')),
    )
    with op.batch_alter_table('service_contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_contracts_application_pk'), ['application_pk'], unique=False)


def downgrade():
    with op.batch_alter_table('service_contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_contracts_application_pk'))
    op.drop_table('service_contracts')
