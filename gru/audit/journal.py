"""Appending to the access journal, sealing its head, exporting the seals.

GDPR art. 5(2) (accountability) and art. 30: every read, search, list, export or download
of a party's personal data, and every write, leaves one entry: who (actor type and id, on
whose behalf), which party, which attribute keys (never the values), which action
(``area:subject:action``), for which purpose and case, from where, when.

Rules this module implements:

- **Serialised appends.** The one ``journal_head`` row is locked (``SELECT ... FOR UPDATE``
  on PostgreSQL; on SQLite the database write lock serialises writers, and the primary key
  on ``seq`` refuses a second entry with the same number), so two writers never chain onto
  the same ``prev_hash``. A trigger moves the head to each inserted entry
  (:mod:`gru.audit.triggers`), so that a single entry, a read's, is appended in one
  statement that locks the head, chains onto it and inserts.
- **Fail closed.** Nothing here commits: the request edge commits once. Any failure to
  journal raises, and the caller must then not return the personal data.
- **Seals** (X-Road message log): :func:`seal_journal` signs the head with the hub's key
  (JWS compact, RFC 7515 section 7.1, RS256, ``kid`` in the header) so that cutting the
  tail or rewriting the chain is caught by :func:`gru.audit.chain.verify_journal`.
"""

import json
import re
import uuid
from collections import namedtuple
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Protocol

from joserfc import jws
from joserfc.jwk import RSAKey
from sqlalchemy import LargeBinary, bindparam, func, insert, select

from gru.audit.chain import (
    ENTRY_FIELDS,
    SEAL_ALGORITHM,
    canonical_entry,
    chain_entries,
    format_time,
    seal_payload,
)
from gru.bulk_sql import insert_rows
from gru.direct_sql import DirectStatement
from gru.audit.models import GENESIS_HASH, HEAD_ID, JournalEntry, JournalHead, JournalSeal

ACTOR_TYPES = ("application", "agent")
#: ``area:subject:action``, e.g. ``identity:party:read`` (as warehouse's event tags)
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")
_OPTIONAL_TEXT = ("on_behalf_of", "case_ref", "request_id", "client_address")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- appending ---------------------------------------------------------------------------

#: the length of each text column, which SQLite would not enforce
_LENGTHS = {column.name: getattr(column.type, "length", None) for column in JournalEntry.__table__.columns}


def _text(name: str, value, *, required: bool) -> str | None:
    """A string field, checked against its column's length (SQLite would not refuse it)."""
    if value is None:
        if required:
            raise ValueError(f"journal entry: {name} is required")
        return None
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"journal entry: {name} must be a non-empty string")
    length = _LENGTHS[name]
    if length and len(value) > length:
        raise ValueError(f"journal entry: {name} is longer than {length} characters")
    return value


def _normalise(entry: dict, default_at: datetime) -> dict:
    """Validate one entry's fields and put them in their stored (and hashed) form."""
    unknown = set(entry) - {
        "actor_type", "actor_id", "action", "party_id", "attribute_keys", "purpose", "at",
        *_OPTIONAL_TEXT,
    }
    if unknown:
        raise ValueError(f"journal entry: unknown fields {sorted(unknown)}")
    if entry.get("actor_type") not in ACTOR_TYPES:
        raise ValueError(f"journal entry: actor_type must be one of {ACTOR_TYPES}")
    action = _text("action", entry.get("action"), required=True)
    if not ACTION_PATTERN.fullmatch(action):
        raise ValueError(f"journal entry: action {action!r} is not area:subject:action")
    try:
        party_id = str(uuid.UUID(str(entry.get("party_id"))))
    except ValueError:
        raise ValueError("journal entry: party_id must be a UUID") from None
    keys = entry.get("attribute_keys")
    if isinstance(keys, str) or keys is None or not all(isinstance(k, str) for k in keys):
        raise ValueError("journal entry: attribute_keys must be a list of strings")
    at = entry.get("at") or default_at
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("journal entry: at must be a timezone-aware datetime")
    fields = {
        "recorded_at": at.astimezone(timezone.utc),
        "actor_type": entry["actor_type"],
        "actor_id": _text("actor_id", entry.get("actor_id"), required=True),
        "party_id": party_id,
        "action": action,
        "attribute_keys": sorted(set(keys)),
        "purpose": _text("purpose", entry.get("purpose"), required=True),
    }
    for name in _OPTIONAL_TEXT:
        fields[name] = _text(name, entry.get(name), required=False)
    return fields


def ensure_journal_head(session_or_connection) -> None:
    """Create the ``journal_head`` row if missing; a concurrent creator is not an error.

    The migration may call it once; :func:`record_accesses` calls it when the row is absent.
    """
    table = JournalHead.__table__
    values = {"id": HEAD_ID, "last_seq": 0, "last_hash": GENESIS_HASH}
    get_bind = getattr(session_or_connection, "get_bind", None)
    dialect = (get_bind() if get_bind else session_or_connection).dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        exists = session_or_connection.execute(select(table.c.id).where(table.c.id == HEAD_ID))
        if exists.first() is None:
            session_or_connection.execute(insert(table).values(**values))
        return
    session_or_connection.execute(dialect_insert(table).values(**values).on_conflict_do_nothing())


_HEAD = JournalHead.__table__
_ENTRIES = JournalEntry.__table__
_LOCK_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()


def _append_one_statement(dialect: str):
    """``INSERT INTO journal_entries SELECT <the entry chained onto the head> FROM
    journal_head FOR UPDATE RETURNING ...``: one statement, one round trip.

    The hash is computed by the database from the entry's canonical bytes (computed here)
    and the head it locks: ``sha256`` on PostgreSQL, ``gru_chain_hash`` on SQLite (whose
    write lock serialises appenders; FOR UPDATE is not rendered there). The head trigger
    (:func:`gru.audit.triggers.install_head_trigger`) then moves the head to the entry.
    """
    canonical = bindparam("canonical", type_=LargeBinary)
    if dialect == "postgresql":
        entry_hash = func.encode(func.sha256(canonical.op("||")(func.decode(_HEAD.c.last_hash, "hex"))), "hex")
    else:
        entry_hash = func.gru_chain_hash(canonical, _HEAD.c.last_hash)
    fields = list(ENTRY_FIELDS)
    chained = select(
        (_HEAD.c.last_seq + 1).label("seq"),
        _HEAD.c.last_hash.label("prev_hash"),
        entry_hash.label("entry_hash"),
        *(bindparam(name, type_=_ENTRIES.c[name].type) for name in fields),
    ).where(_HEAD.c.id == HEAD_ID).with_for_update()
    returned = (_ENTRIES.c.seq, _ENTRIES.c.prev_hash, _ENTRIES.c.entry_hash)
    statement = insert(_ENTRIES).from_select(["seq", "prev_hash", "entry_hash", *fields], chained)
    return DirectStatement(statement.returning(*returned), result_columns=returned)


_APPEND_ONE = {dialect: _append_one_statement(dialect) for dialect in ("postgresql", "sqlite")}


class AppendedEntry(namedtuple("AppendedEntry", ("seq", "prev_hash", "entry_hash", *ENTRY_FIELDS))):
    """An entry as appended: its stored fields, its place in the chain and its hash."""


def _lock_head(connection) -> tuple[int, str]:
    """``SELECT last_seq, last_hash FROM journal_head WHERE id = 1 FOR UPDATE``.

    Columns, not an ORM object, so the identity map never hands back a stale head.
    """
    row = connection.execute(_LOCK_HEAD).first()
    if row is None:
        ensure_journal_head(connection)
        row = connection.execute(_LOCK_HEAD).one()
    return row.last_seq, row.last_hash


def _append_one(connection, fields: dict) -> AppendedEntry:
    statement = _APPEND_ONE[connection.dialect.name]
    parameters = {**fields, "canonical": canonical_entry(fields)}
    rows = statement.execute(connection, parameters)
    if not rows:  # no head row yet: a journal created outside the migrations
        ensure_journal_head(connection)
        rows = statement.execute(connection, parameters)
    (row,) = rows
    return AppendedEntry(row.seq, row.prev_hash, row.entry_hash, **fields)


def record_accesses(session, entries: list[dict]) -> list[AppendedEntry]:
    """Append one entry per dict (keys as :func:`record_access`), taking the head lock once.

    For a search or a list: one entry per party of the result. In the session's
    transaction, on its connection (Core statements: no ORM flush); never commits. One
    entry is one ``INSERT ... SELECT`` (:func:`_append_one_statement`); several are the
    head locked, chained here and inserted in bulk (:func:`gru.bulk_sql.insert_rows`: one
    COPY on PostgreSQL), the head trigger moving the head to the last. Raises on any invalid entry or database error, and then nothing
    was journaled.
    """
    if not entries:
        return []
    now = _utcnow()
    normalised = [_normalise(entry, now) for entry in entries]
    connection = session.connection()
    if len(normalised) == 1 and connection.dialect.name in _APPEND_ONE:
        return [_append_one(connection, normalised[0])]
    rows = chain_entries(normalised, *_lock_head(connection))
    insert_rows(connection, _ENTRIES, rows)
    return [AppendedEntry(**row) for row in rows]


def record_access(
    session,
    *,
    actor_type: str,
    actor_id: str,
    action: str,
    party_id,
    attribute_keys,
    purpose: str,
    case_ref: str | None = None,
    on_behalf_of: str | None = None,
    request_id: str | None = None,
    client_address: str | None = None,
    at: datetime | None = None,
) -> AppendedEntry:
    """Append one entry: ``actor`` disclosed or changed ``attribute_keys`` of ``party_id``.

    GDPR art. 5(2): the trace is written in the same transaction as the use case and
    before any personal data leaves; if this raises, the caller must not answer with it.
    """
    (entry,) = record_accesses(session, [{
        "actor_type": actor_type, "actor_id": actor_id, "action": action,
        "party_id": party_id, "attribute_keys": attribute_keys, "purpose": purpose,
        "case_ref": case_ref, "on_behalf_of": on_behalf_of, "request_id": request_id,
        "client_address": client_address, "at": at,
    }])
    return entry


# -- sealing -----------------------------------------------------------------------------


class Signer(Protocol):
    """Signs seal payloads with the hub's key; ``sign`` returns a JWS compact serialisation."""

    kid: str

    def sign(self, payload: bytes) -> str: ...


class JoseSigner:
    """:class:`Signer` over an RSA private JWK (RFC 7517), RS256 (RFC 7518 section 3.3)."""

    def __init__(self, private_jwk: dict, kid: str | None = None):
        self._key = RSAKey.import_key(private_jwk)
        if not self._key.is_private:
            raise ValueError("JoseSigner needs a private RSA key")
        self.kid = kid or private_jwk.get("kid") or self._key.thumbprint()

    def sign(self, payload: bytes) -> str:
        header = {"alg": SEAL_ALGORITHM, "kid": self.kid}
        return jws.serialize_compact(header, payload, self._key, algorithms=[SEAL_ALGORITHM])

    def public_jwk(self) -> dict:
        """The public half, with ``kid``: what to publish and keep for verification."""
        return {**self._key.as_dict(private=False), "kid": self.kid}

    def public_keys(self) -> dict:
        """``{kid: key}`` as :func:`gru.audit.chain.verify_journal` takes it."""
        return public_keys_from_jwks({"keys": [self.public_jwk()]})


def public_keys_from_jwks(jwks: dict) -> dict:
    """``{kid: joserfc RSAKey}`` from a JWK Set (RFC 7517 section 5); keys need a ``kid``."""
    return {jwk["kid"]: RSAKey.import_key(jwk) for jwk in jwks["keys"]}


def seal_journal(session, signer: Signer) -> JournalSeal | None:
    """Sign the chain head; ``None`` if the journal is empty or already sealed at its head.

    Takes the head lock, so a seal always names a committed-together head and entry. Refuses
    (raises ``RuntimeError``) to seal a journal whose head, last entry and entry count
    disagree: that journal needs :func:`gru.audit.chain.verify_journal`, not a seal.
    Flushes, never commits.
    """
    last_seq, last_hash = _lock_head(session.connection())
    if last_seq == 0:
        return None
    latest = session.execute(select(func.max(JournalSeal.last_seq))).scalar()
    if latest is not None and latest >= last_seq:
        return None
    entries = JournalEntry.__table__
    last = session.execute(
        select(entries.c.seq, entries.c.entry_hash).order_by(entries.c.seq.desc()).limit(1)
    ).first()
    count = session.execute(select(func.count()).select_from(entries)).scalar()
    if last is None or (last.seq, last.entry_hash) != (last_seq, last_hash) or count != last_seq:
        raise RuntimeError(
            f"refusing to seal: the journal head records {last_seq} entries but the journal "
            f"holds {count}, the last being {last.seq if last else None}"
        )
    sealed_at = _utcnow()
    payload = seal_payload(sealed_at=sealed_at, last_seq=last_seq, last_hash=last_hash,
                           entry_count=count)
    seal = JournalSeal(sealed_at=sealed_at, last_seq=last_seq, last_hash=last_hash,
                       entry_count=count, key_id=signer.kid, signature=signer.sign(payload))
    session.add(seal)
    session.flush()
    return seal


_export_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def export_seals(session) -> Iterator[str]:
    """Every seal as one JSON line (no newline), oldest first: to keep outside the hub.

    :func:`gru.audit.chain.verify_journal` takes these lines back as ``external_seals``,
    which catches a tail cut even if the seals table was cut as well.
    """
    t = JournalSeal.__table__
    rows = session.execute(
        select(t.c.id, t.c.sealed_at, t.c.last_seq, t.c.last_hash, t.c.entry_count,
               t.c.key_id, t.c.signature).order_by(t.c.id),
        execution_options={"yield_per": 1000},
    )
    for row in rows:
        yield _export_encode({
            "id": row.id, "sealed_at": format_time(row.sealed_at), "last_seq": row.last_seq,
            "last_hash": row.last_hash, "entry_count": row.entry_count,
            "key_id": row.key_id, "signature": row.signature,
        })
