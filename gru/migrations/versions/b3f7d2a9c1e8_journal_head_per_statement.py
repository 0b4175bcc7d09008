"""journal head per statement: on PostgreSQL the head moves once per INSERT or COPY

A bulk append (an import journals one entry per line) is one COPY of chained entries;
the head row updated once per entry made it quadratic (gru.audit.triggers).

Revision ID: b3f7d2a9c1e8
Revises: 9a4e6b1c3d57
Create Date: 2026-12-01 09:10:00

"""
from alembic import op

from gru.audit.triggers import install_head_trigger

revision = 'b3f7d2a9c1e8'
down_revision = '9a4e6b1c3d57'
branch_labels = None
depends_on = None


def upgrade():
    install_head_trigger(op.get_bind())


def downgrade():
    install_head_trigger(op.get_bind(), per_row=True)
