"""document vault: documents, their stored segments, reuses; the event outbox

Revision ID: c4f1a8d2e7b3
Revises: 7b2e9c4d1a60
Create Date: 2026-12-01 06:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import gru.dbtypes

revision = 'c4f1a8d2e7b3'
down_revision = '7b2e9c4d1a60'
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'documents',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('party_pk', BIG_PK, nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('segment_count', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=True),
        sa.Column('issued_on', sa.Date(), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('issuing_authority', sa.String(length=200), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('verification_method', sa.String(length=32), nullable=True),
        sa.Column('verification_reason', sa.Text(), nullable=True),
        sa.Column('verified_by_type', sa.String(length=16), nullable=True),
        sa.Column('verified_by_id', sa.String(length=128), nullable=True),
        sa.Column('verified_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('content_hmac', sa.String(length=64), nullable=False),
        sa.Column('is_encrypted', sa.Boolean(), nullable=False),
        sa.Column('kek_version', sa.Integer(), nullable=True),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
        sa.Column('storage_backend', sa.String(length=16), nullable=False),
        sa.Column('storage_key', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_type', sa.String(length=16), nullable=False),
        sa.Column('uploaded_by_id', sa.String(length=128), nullable=False),
        sa.Column('uploaded_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.Column('proof_expired_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.Column('purge_after', sa.Date(), nullable=False),
        sa.Column('purged_at', gru.dbtypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'verified', 'rejected')", name=op.f('ck_documents_status')),
        sa.ForeignKeyConstraint(['party_pk'], ['parties.pk'], name=op.f('fk_documents_party_pk_parties')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_documents')),
        sa.UniqueConstraint('id', name=op.f('uq_documents_id')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_documents_storage_key')),
    )
    op.create_index(op.f('ix_documents_party_pk'), 'documents', ['party_pk'])
    op.create_index(op.f('ix_documents_kek_version'), 'documents', ['kek_version'])
    op.create_index(op.f('ix_documents_purge_after'), 'documents', ['purge_after'])
    op.create_index('ix_documents_party_hmac', 'documents', ['party_pk', 'content_hmac'])
    op.create_table(
        'document_chunks',
        sa.Column('storage_key', sa.String(length=64), nullable=False),
        sa.Column('index', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('storage_key', 'index', name=op.f('pk_document_chunks')),
    )
    op.create_table(
        'document_reuses',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('document_pk', BIG_PK, nullable=False),
        sa.Column('party_pk', BIG_PK, nullable=False),
        sa.Column('actor_type', sa.String(length=16), nullable=False),
        sa.Column('actor_id', sa.String(length=128), nullable=False),
        sa.Column('purpose', sa.String(length=64), nullable=False),
        sa.Column('case_ref', sa.String(length=128), nullable=True),
        sa.Column('reused_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['document_pk'], ['documents.pk'], name=op.f('fk_document_reuses_document_pk_documents')),
        sa.ForeignKeyConstraint(['party_pk'], ['parties.pk'], name=op.f('fk_document_reuses_party_pk_parties')),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_document_reuses')),
    )
    op.create_index(op.f('ix_document_reuses_document_pk'), 'document_reuses', ['document_pk'])
    op.create_index(op.f('ix_document_reuses_party_pk'), 'document_reuses', ['party_pk'])
    op.create_table(
        'events',
        sa.Column('pk', BIG_PK, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('party_id', sa.Uuid(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('data', JSON, nullable=False),
        sa.Column('occurred_at', gru.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_events')),
        sa.UniqueConstraint('id', name=op.f('uq_events_id')),
        sa.UniqueConstraint('party_id', 'sequence', name=op.f('uq_events_party_id_sequence')),
    )
    op.create_index(op.f('ix_events_type'), 'events', ['type'])


def downgrade():
    op.drop_table('events')
    op.drop_table('document_reuses')
    op.drop_table('document_chunks')
    op.drop_table('documents')
