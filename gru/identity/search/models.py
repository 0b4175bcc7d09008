"""Tables of search, matching, duplicate review and merge (issue 6).

The search index is three plain tables, the same on SQLite and PostgreSQL, so that a
query finds the same parties on both:

- ``party_search_tokens``: one row per (party, field, token) of the golden names, plus
  the birth date (field ``birth_date``, token ``dYYYYMMDD``), the (family name, first
  given name) pairs (field ``pair``), the social-security number (field ``ssn``,
  token ``ssn:NUMBER``) and the home (field ``address``), the blocking keys of matching;
- ``search_term_keys``: the vocabulary of name tokens under their symmetric-deletion
  keys (:func:`gru.identity.names.deletion_keys`): one typo away is one indexed lookup;
- ``search_terms``: how many parties hold each term of the vocabulary, so that bulk
  matching tells a common name from its misspellings (:mod:`gru.identity.search.vocabulary`);
- ``party_search_entries``: per party, the folded profile that re-ranking and the
  matcher compare (names, birth date, places, contacts, identifiers).

They are maintained in the transaction of every golden-value change
(:mod:`gru.identity.search.index`) and never hold anything the golden record does not.
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db

SUSPICION_STATUSES = ("open", "not_duplicate", "merged")


class PartySearchToken(db.Model):
    __tablename__ = "party_search_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), primary_key=True)
    field: Mapped[str] = mapped_column(String(16), primary_key=True)

    __table_args__ = (Index("ix_party_search_tokens_party_pk", "party_pk"),)


class SearchTermKey(db.Model):
    __tablename__ = "search_term_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True)


class SearchTerm(db.Model):
    """A term of the vocabulary and the number of parties whose names hold it, kept
    in the transaction of every index change."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    holders: Mapped[int] = mapped_column(Integer, default=0)


class PartySearchEntry(db.Model):
    __tablename__ = "party_search_entries"

    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    profile: Mapped[dict] = mapped_column(JSONValue)
    #: set on every change, cleared by the duplicate-detection job once it has looked
    is_dedup_pending: Mapped[bool] = mapped_column(Boolean, default=True)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_party_search_entries_pending", "is_dedup_pending"),)


class DuplicateSuspicion(db.Model):
    """A pair of parties that may be one person; ``party_a_pk < party_b_pk``.

    ``not_duplicate`` is remembered: the pair is never proposed again. A suspicion
    under review is locked by its reviewer until ``locked_until``.
    """

    __tablename__ = "duplicate_suspicions"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    party_a_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    party_b_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16))
    explanation: Mapped[dict] = mapped_column(JSONValue)
    status: Mapped[str] = mapped_column(String(16), default="open")
    origin: Mapped[str] = mapped_column(String(16))
    locked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("party_a_pk", "party_b_pk"), Index("ix_duplicate_suspicions_status", "status"))


class PartyMerge(db.Model):
    """What a merge moved, so that an unmerge can put it back (``moved``: table -> pks;
    ``golden_before``: party -> {attribute: value pk})."""

    __tablename__ = "party_merges"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    survivor_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    merged_pk: Mapped[int] = mapped_column(ForeignKey("parties.pk"), index=True)
    moved: Mapped[dict] = mapped_column(JSONValue)
    golden_before: Mapped[dict] = mapped_column(JSONValue)
    merged_by: Mapped[str] = mapped_column(String(128))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    unmerged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unmerge_report: Mapped[dict | None] = mapped_column(JSONValue, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
