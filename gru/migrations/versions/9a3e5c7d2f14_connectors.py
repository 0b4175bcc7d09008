"""connectors: configured instances (encrypted configuration) and deliveries

Revision ID: 9a3e5c7d2f14
Revises: 5d8f1c2b7e43
Create Date: 2026-12-01 07:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import gru.dbtypes

revision = '9a3e5c7d2f14'
down_revision = '5d8f1c2b7e43'
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
OPEN = "status IN ('pending', 'retrying')"


def upgrade():
    op.create_table(
        'connector_instances',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('application_pk', BIG_PK, nullable=False),
        sa.Column('purpose', sa.String(length=64), nullable=True),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('config_ciphertext', sa.LargeBinary(), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('kek_version', sa.Integer(), nullable=False),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['application_pk'], ['applications.pk'],
                                name=op.f('fk_connector_instances_application_pk_applications')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_connector_instances')),
        sa.UniqueConstraint('id', name=op.f('uq_connector_instances_id')),
        sa.UniqueConstraint('name', name=op.f('uq_connector_instances_name')),
    )
    op.create_index(op.f('ix_connector_instances_application_pk'), 'connector_instances', ['application_pk'])
    op.create_table(
        'deliveries',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('instance_pk', BIG_PK, nullable=False),
        sa.Column('event_pk', BIG_PK, nullable=False),
        sa.Column('party_id', sa.Uuid(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('lease_until', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('last_attempt_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('receipt', JSON, nullable=True),
        sa.Column('delivered_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'retrying', 'delivered', 'skipped', 'dead')",
                           name=op.f('ck_deliveries_status')),
        sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_deliveries_event_pk_events')),
        sa.ForeignKeyConstraint(['instance_pk'], ['connector_instances.pk'], ondelete='CASCADE',
                                name=op.f('fk_deliveries_instance_pk_connector_instances')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_deliveries')),
        sa.UniqueConstraint('id', name=op.f('uq_deliveries_id')),
        sa.UniqueConstraint('instance_pk', 'event_pk', name=op.f('uq_deliveries_instance_pk_event_pk')),
    )
    op.create_index('ix_deliveries_chain', 'deliveries', ['instance_pk', 'party_id', 'sequence'])
    op.create_index('ix_deliveries_due', 'deliveries', ['instance_pk', 'next_attempt_at'],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index('ix_deliveries_instance_status', 'deliveries', ['instance_pk', 'status'])


def downgrade():
    op.drop_table('deliveries')
    op.drop_index(op.f('ix_connector_instances_application_pk'), table_name='connector_instances')
    op.drop_table('connector_instances')
