"""Tables of the access journal: entries, the chain head and the seals.

GDPR art. 5(2) and 30: the controller must be able to show who accessed which personal
data, for which purpose. One :class:`JournalEntry` per party read, searched, listed,
exported, downloaded or written; it holds ids, attribute keys and purposes, never a
personal value, so erasing a person (art. 17) never breaks the chain.

Tamper evidence follows X-Road's message log: each entry's ``entry_hash`` covers its
fields and the previous entry's hash (:mod:`gru.audit.chain`); :class:`JournalHead` is the
one row writers lock to append in turn; :class:`JournalSeal` signs the chain head so
that a cut tail or a rewritten chain is caught.
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gru.extensions import db

# BIGINT on PostgreSQL; INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the rowid alias.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")

#: ``prev_hash`` of the first entry: 32 zero bytes, hex.
GENESIS_HASH = "0" * 64
#: the one row of ``journal_head``
HEAD_ID = 1


class JournalEntry(db.Model):
    """One disclosure or change of one party's data. Append-only (see :mod:`.triggers`).

    ``seq`` is assigned by the chain (``journal_head.last_seq + 1``), never by the
    database, so that sequence numbers are contiguous and a gap means a deletion.
    """

    __tablename__ = "journal_entries"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: ``application`` or ``agent``
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(255))
    #: the person an application acts for (an agent's login, a citizen's sub...), if any
    on_behalf_of: Mapped[str | None] = mapped_column(String(255))
    party_id: Mapped[str] = mapped_column(String(36), index=True)
    #: ``area:subject:action``, e.g. ``identity:party:read``
    action: Mapped[str] = mapped_column(String(100))
    #: sorted attribute keys disclosed or changed (keys only, never values)
    attribute_keys: Mapped[list[str]] = mapped_column(JSON)
    #: purpose code of the register of processing (art. 30)
    purpose: Mapped[str] = mapped_column(String(100))
    case_ref: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(255))
    client_address: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self):
        return f"<JournalEntry {self.seq} {self.action} {self.party_id}>"


class JournalHead(db.Model):
    """The last sequence number and hash: the row appenders lock (``SELECT ... FOR UPDATE``)."""

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class JournalSeal(db.Model):
    """A signed statement of the chain head: entries 1..``last_seq`` end in ``last_hash``.

    ``signature`` is a JWS compact serialisation (RFC 7515 section 7.1) whose payload is
    :func:`gru.audit.chain.seal_payload` of the other fields and whose header names ``kid``.
    """

    __tablename__ = "journal_seals"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(255))
    signature: Mapped[str] = mapped_column(Text)

    def __repr__(self):
        return f"<JournalSeal {self.id} up to {self.last_seq}>"
