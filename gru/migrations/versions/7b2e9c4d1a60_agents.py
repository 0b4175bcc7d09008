"""agents: the people who sign in to the hub's pages, with their role

Revision ID: 7b2e9c4d1a60
Revises: 3c1d2f7a9b10
Create Date: 2026-11-23 04:00:00

"""
from alembic import op
import sqlalchemy as sa
import gru.dbtypes

revision = '7b2e9c4d1a60'
down_revision = '3c1d2f7a9b10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'agents',
        sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('login', sa.String(length=128), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=True),
        sa.Column('oidc_subject', sa.String(length=255), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'dpo', 'admin')", name=op.f('ck_agents_role')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_agents')),
        sa.UniqueConstraint('login', name=op.f('uq_agents_login')),
        sa.UniqueConstraint('oidc_subject', name=op.f('uq_agents_oidc_subject')),
    )


def downgrade():
    op.drop_table('agents')
