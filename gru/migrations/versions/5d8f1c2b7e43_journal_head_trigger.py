"""journal head trigger: journal_head follows every inserted entry

So that one ``INSERT ... SELECT`` appends an entry chained onto the head it reads
(gru.audit.journal), on PostgreSQL and SQLite (gru.audit.triggers).

Revision ID: 5d8f1c2b7e43
Revises: c4f1a8d2e7b3
Create Date: 2026-12-01 06:40:00

"""
from alembic import op

from gru.audit.triggers import drop_head_trigger, install_head_trigger

revision = '5d8f1c2b7e43'
down_revision = 'c4f1a8d2e7b3'
branch_labels = None
depends_on = None


def upgrade():
    install_head_trigger(op.get_bind())


def downgrade():
    drop_head_trigger(op.get_bind())
