"""The journal's hash chain: canonical encoding, hashing, seal payloads and verification.

Tamper evidence as in X-Road's message log (hash chain plus signed checkpoints):

- ``entry_hash = SHA-256(canonical_entry(fields) || prev_hash)``, ``prev_hash`` being the
  previous entry's hash as 32 raw bytes, 32 zero bytes for entry 1; hashes stored hex.
- :func:`canonical_entry` is a JSON array in a fixed field order (:data:`ENTRY_FIELDS`),
  compact separators, ASCII only, led by a version tag: unambiguous (strings are quoted
  and escaped, ``None`` is ``null`` and distinct from ``""``), and fast to build with the
  C encoder. Times are ISO 8601 UTC with microseconds and ``Z``.
- ``seq`` is not hashed: it is bound by position. The chain starts at the zero hash,
  sequence numbers must run 1, 2, 3... without a gap, and each seal signs
  (``last_seq``, ``last_hash``, ``entry_count``). Leaving it out lets
  :func:`verify_journal` tell a modified entry (its own hash is wrong) from an inserted or
  reordered one (its own hash is right but it does not follow its predecessor).
- A seal is a JWS compact serialisation (RFC 7515 section 7.1, RS256, ``kid`` in the
  protected header) over :func:`seal_payload`.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy import String, Text, cast, select, type_coerce

from gru.audit.models import GENESIS_HASH, HEAD_ID, JournalEntry, JournalHead, JournalSeal

#: leads every canonical entry, so that a future encoding can never collide with this one
ENCODING_VERSION = "gru-journal/1"
#: the hashed fields, in canonical order
ENTRY_FIELDS = (
    "recorded_at",
    "actor_type",
    "actor_id",
    "on_behalf_of",
    "party_id",
    "action",
    "attribute_keys",
    "purpose",
    "case_ref",
    "request_id",
    "client_address",
)
SEAL_ALGORITHM = "RS256"
#: rows fetched per round trip while verifying
VERIFY_BATCH = 10_000

_UTC = timezone.utc
_json_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)
if json.encoder.c_make_encoder is not None:
    # The C encoder, built once: ``JSONEncoder.encode`` builds it again at every call.
    _c_encoder = json.encoder.c_make_encoder(
        None, _json_encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",",
        False, False, True,
    )

    def _encode(value) -> str:
        return "".join(_c_encoder(value, 0))
else:  # pragma: no cover - Python built without the _json accelerator
    _encode = _json_encoder.encode
_scan_json = json.JSONDecoder().scan_once
_seal_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, sort_keys=True).encode
_sha256 = hashlib.sha256


def format_time(value: datetime) -> str:
    """ISO 8601, UTC, microseconds, ``Z``. A naive value (SQLite gives them back) is UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def _time_text(value) -> str:
    """:func:`format_time` of a datetime, or of the text SQLite returns; ``ValueError`` else."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a time: {value!r}")
    return format_time(value)


def canonical_entry(fields: dict) -> bytes:
    """The bytes hashed for one entry; ``fields`` has every name of :data:`ENTRY_FIELDS`."""
    return _encode(
        (ENCODING_VERSION, format_time(fields["recorded_at"]))
        + tuple(fields[name] for name in ENTRY_FIELDS[1:])
    ).encode()


def compute_entry_hash(fields: dict, prev_hash: str) -> str:
    """``SHA-256(canonical_entry(fields) || prev_hash)`` in hex; ``prev_hash`` is hex."""
    return _sha256(canonical_entry(fields) + bytes.fromhex(prev_hash)).hexdigest()


def chain_hash(canonical: bytes, prev_hash: str) -> str:
    """``SHA-256(canonical || prev_hash)`` in hex, from :func:`canonical_entry` bytes.

    Registered on SQLite connections as the SQL function ``gru_chain_hash`` (the app
    factory's connect hook), so that :mod:`gru.audit.journal` can chain an entry onto
    the head it reads in the same statement; PostgreSQL computes the same with its own
    ``sha256``.
    """
    return _sha256(canonical + bytes.fromhex(prev_hash)).hexdigest()


def chain_entries(fields_list, last_seq: int = 0, last_hash: str = GENESIS_HASH) -> list[dict]:
    """Number and chain normalised entries after (``last_seq``, ``last_hash``).

    Returns one dict per entry: its fields plus ``seq``, ``prev_hash`` and ``entry_hash``.
    """
    rows = []
    for fields in fields_list:
        last_seq += 1
        entry_hash = compute_entry_hash(fields, last_hash)
        rows.append({**fields, "seq": last_seq, "prev_hash": last_hash, "entry_hash": entry_hash})
        last_hash = entry_hash
    return rows


def seal_payload(*, sealed_at: datetime, last_seq: int, last_hash: str, entry_count: int) -> bytes:
    """The signed content of a seal: JSON, sorted keys, compact separators."""
    return _seal_encode(
        {
            "entry_count": entry_count,
            "last_hash": last_hash,
            "last_seq": last_seq,
            "sealed_at": format_time(sealed_at),
            "type": ENCODING_VERSION,
        }
    ).encode()


@dataclass
class VerificationReport:
    """What :func:`verify_journal` found; ``first_bad_seq`` and ``problem`` are ``None`` if ok."""

    ok: bool
    entries_checked: int
    seals_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    #: the seal a problem is about (an invalid signature, a seal the chain no longer matches)
    bad_seal_id: int | None = None


@dataclass
class _Seal:
    id: int
    sealed_at: datetime
    last_seq: int
    last_hash: str
    entry_count: int
    key_id: str
    signature: str


def _load_keys(raw):
    """``attribute_keys`` from JSON text with white space around it; ``ValueError`` if not JSON."""
    return json.loads(raw)


def _connection(connection_or_session):
    """A Core connection from a Session (``flask_sqlalchemy`` or plain) or a Connection."""
    get = getattr(connection_or_session, "connection", None)
    return get() if callable(get) else connection_or_session


def _load_seals(connection) -> list[_Seal]:
    t = JournalSeal.__table__
    rows = connection.execute(
        select(t.c.id, t.c.sealed_at, t.c.last_seq, t.c.last_hash, t.c.entry_count,
               t.c.key_id, t.c.signature).order_by(t.c.id)
    )
    return [_Seal(*row) for row in rows]


def parse_seal_line(line: str) -> _Seal:
    """One line of :func:`gru.audit.journal.export_seals` back into a seal to check."""
    data = json.loads(line)
    return _Seal(
        id=data["id"],
        sealed_at=datetime.fromisoformat(data["sealed_at"].replace("Z", "+00:00")),
        last_seq=data["last_seq"],
        last_hash=data["last_hash"],
        entry_count=data["entry_count"],
        key_id=data["key_id"],
        signature=data["signature"],
    )


def seal_signature_problem(seal: _Seal, public_keys: dict) -> str | None:
    """``None`` if the seal's JWS is valid with ``public_keys[kid]`` and signs its own fields."""
    try:
        kid = jws.extract_compact(seal.signature.encode()).headers().get("kid")
        key = public_keys.get(kid)
        if key is None or kid != seal.key_id:
            return f"seal {seal.id} is signed with an unknown key {kid!r}"
        signed = jws.deserialize_compact(seal.signature, key, algorithms=[SEAL_ALGORITHM])
    except (JoseError, ValueError):
        return f"seal {seal.id} has an invalid signature"
    expected = seal_payload(sealed_at=seal.sealed_at, last_seq=seal.last_seq,
                            last_hash=seal.last_hash, entry_count=seal.entry_count)
    if signed.payload != expected:
        return f"seal {seal.id} has an invalid signature (its fields were changed)"
    if seal.entry_count != seal.last_seq:
        return f"seal {seal.id} counts {seal.entry_count} entries up to {seal.last_seq}"
    return None


def _chain_break(connection, seq: int, prev_hash: str) -> int:
    """The first inserted entry when entry ``seq`` links to an entry before ``seq - 1``.

    Only runs once a break is found: it looks up which entry ``prev_hash`` names. If that is
    entry ``k < seq - 1``, entries ``k + 1 .. seq - 1`` were inserted; otherwise (unknown
    hash, or a later entry: a swap) entry ``seq`` itself is out of place.
    """
    if prev_hash == GENESIS_HASH:
        return 1
    t = JournalEntry.__table__
    named = connection.execute(
        select(t.c.seq)
        .where(t.c.entry_hash == prev_hash, t.c.seq < seq - 1)
        .order_by(t.c.seq.desc())
    ).first()
    return named[0] + 1 if named else seq


def verify_journal(
    connection_or_session, public_keys: dict, external_seals=None
) -> VerificationReport:
    """Walk the whole chain in ``seq`` order and report the first problem.

    Checks, for each entry: ``seq`` is the next number (a gap is a deletion); its hash
    recomputes (else it was modified); its ``prev_hash`` is the previous entry's hash (else
    it was inserted or the chain reordered). For each seal (in the database, plus
    ``external_seals``: lines of :func:`gru.audit.journal.export_seals` kept elsewhere): the
    JWS verifies with ``public_keys[kid]`` (a dict kid -> joserfc key) over its own fields,
    the entry it names carries the sealed hash, and the journal is not shorter than it says.
    The ``journal_head`` row, unsigned, is checked the same way.

    Streams rows with SQLAlchemy Core (``yield_per``), no ORM objects in the loop.
    """
    connection = _connection(connection_or_session)
    seals = _load_seals(connection)
    known = {(seal.id, seal.signature) for seal in seals}
    for line in external_seals or ():
        if line.strip():
            seal = parse_seal_line(line)
            if (seal.id, seal.signature) not in known:
                seals.append(seal)
    by_seq: dict[int, list[_Seal]] = {}
    for seal in seals:
        by_seq.setdefault(seal.last_seq, []).append(seal)
    # Read before the walk: the walk then sees at least what the head records.
    head = connection.execute(
        select(JournalHead.last_seq, JournalHead.last_hash).where(JournalHead.id == HEAD_ID)
    ).first()
    head_seq = head.last_seq if head is not None and head.last_seq > 0 else None
    checkpoints = sorted(set(by_seq) | ({head_seq} if head_seq else set()))
    seals_checked = 0

    def report(seq, problem, checked, seal_id=None):
        return VerificationReport(False, checked, seals_checked, seq, problem, seal_id)

    def check_seals_at(seq, entry_hash):
        nonlocal seals_checked
        if seq == head_seq and head.last_hash != entry_hash:
            return seq, f"entry {seq} does not match the journal head", None
        for seal in by_seq.get(seq, ()):
            problem = seal_signature_problem(seal, public_keys)
            if problem:
                return None, problem, seal.id
            seals_checked += 1
            if seal.last_hash != entry_hash:
                return seq, (f"entry {seq} does not match seal {seal.id}: the chain was "
                             f"rewritten at or before entry {seq}"), seal.id
        return None

    t = JournalEntry.__table__
    # SQLite stores times as text "YYYY-MM-DD HH:MM:SS.ffffff": read the text, skip parsing.
    is_sqlite = connection.dialect.name == "sqlite"
    recorded_at = type_coerce(t.c.recorded_at, String) if is_sqlite else t.c.recorded_at
    query = select(
        t.c.seq, recorded_at, t.c.actor_type, t.c.actor_id, t.c.on_behalf_of,
        t.c.party_id, t.c.action, cast(t.c.attribute_keys, Text), t.c.purpose, t.c.case_ref,
        t.c.request_id, t.c.client_address, t.c.prev_hash, t.c.entry_hash,
    ).order_by(t.c.seq)
    # Options on the statement, not the connection: Connection.execution_options changes
    # the caller's connection in place in SQLAlchemy 2, and every later statement on it
    # would then go through a server-side cursor.
    result = connection.execute(query.execution_options(stream_results=True, yield_per=VERIFY_BATCH))

    encode, sha256, version = _encode, _sha256, ENCODING_VERSION
    scan, str_ = _scan_json, str
    expected = 1
    prev_hex, prev_bytes = GENESIS_HASH, bytes(32)
    checkpoint_index = 0
    next_checkpoint = checkpoints[0] if checkpoints else -1
    try:
        for rows in result.partitions():
            for (seq, at, actor_type, actor_id, on_behalf_of, party_id, action, keys,
                 purpose, case_ref, request_id, client_address, prev_hash, entry_hash) in rows:
                if seq != expected:
                    if seq > expected:
                        return report(expected, f"entry {expected} is missing (deleted)",
                                      expected - 1)
                    return report(seq, f"entry {seq} is duplicated", expected - 1)
                try:
                    if at.__class__ is str_ and len(at) == 26 and at[10] == " ":
                        at = at[:10] + "T" + at[11:] + "Z"
                    else:
                        at = _time_text(at)
                    try:
                        value, end = scan(keys, 0)
                        keys = value if end == len(keys) else _load_keys(keys)
                    except StopIteration:
                        keys = _load_keys(keys)
                except (TypeError, ValueError):
                    return report(seq, f"entry {seq} was modified", expected - 1)
                payload = encode((
                    version, at, actor_type, actor_id,
                    on_behalf_of, party_id, action, keys, purpose, case_ref, request_id,
                    client_address,
                )).encode()
                if prev_hash == prev_hex:
                    digest = sha256(payload + prev_bytes).digest()
                    if digest.hex() != entry_hash:
                        return report(seq, f"entry {seq} was modified", expected - 1)
                else:
                    try:
                        own = sha256(payload + bytes.fromhex(prev_hash)).hexdigest()
                    except (TypeError, ValueError):
                        own = None
                    if own != entry_hash:
                        return report(seq, f"entry {seq} was modified", expected - 1)
                    first = _chain_break(connection, seq, prev_hash)
                    return report(first, f"entry {first} was inserted or the chain reordered",
                                  first - 1)
                prev_hex, prev_bytes = entry_hash, digest
                expected += 1
                if seq == next_checkpoint:
                    bad = check_seals_at(seq, entry_hash)
                    if bad:
                        return report(bad[0], bad[1], seq, bad[2])
                    checkpoint_index += 1
                    next_checkpoint = (checkpoints[checkpoint_index]
                                       if checkpoint_index < len(checkpoints) else -1)
    finally:
        result.close()

    last = expected - 1
    beyond = [seal for s in checkpoints[checkpoint_index:] for seal in by_seq.get(s, ())]
    for seal in beyond:
        problem = seal_signature_problem(seal, public_keys)
        if problem:
            return report(None, problem, last, seal.id)
        seals_checked += 1
    if beyond:
        seal = max(beyond, key=lambda s: (s.last_seq, s.id))
        return report(last + 1, (f"the journal ends at {last} but seal {seal.id} covers up "
                                 f"to {seal.last_seq} (tail cut)"), last, seal.id)
    if head_seq and head_seq > last:
        return report(last + 1, (f"the journal ends at {last} but its head records "
                                 f"{head_seq} (tail cut)"), last)
    # Read again after the walk: every append the walk saw moved the head with it.
    head = connection.execute(
        select(JournalHead.last_seq).where(JournalHead.id == HEAD_ID)
    ).first()
    if last and head is None:
        return report(None, "the journal head is missing", last)
    if head is not None and last > head.last_seq:
        return report(head.last_seq + 1, (f"entry {head.last_seq + 1} was inserted after the "
                                           f"journal head ({head.last_seq})"), last)
    return VerificationReport(True, last, seals_checked)
