"""The access journal's hash chain, seals and append-only guarantees.

Every tampering is done as a database administrator would (raw SQL, triggers bypassed on
PostgreSQL) and must be caught by :func:`verify_journal`, naming the first bad entry.
"""

import json
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy
from joserfc.jwk import RSAKey
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from gru.audit.chain import GENESIS_HASH, compute_entry_hash, verify_journal
from gru.audit.journal import (
    JoseSigner,
    export_seals,
    record_access,
    record_accesses,
    seal_journal,
)
from gru.audit.models import JournalEntry, JournalHead, JournalSeal
from gru.extensions import db

from .conftest import entry_factory

ENTRIES = JournalEntry.__table__


def entry_row(session, seq):
    return session.execute(select(ENTRIES).where(ENTRIES.c.seq == seq)).one()._asdict()


def renumber(tamper, from_seq, shift):
    """Shift ``seq`` of entries >= ``from_seq`` by ``shift``, through negatives (PK-safe)."""
    tamper("UPDATE journal_entries SET seq = -(seq + :shift) WHERE seq >= :from_seq",
           shift=shift, from_seq=from_seq)
    tamper("UPDATE journal_entries SET seq = -seq WHERE seq < 0")


def forged_entry(seq, prev_hash):
    """A well-formed entry an attacker could write: its own hash is right."""
    fields = {**entry_factory(9999), "recorded_at": entry_factory(9999)["at"]}
    del fields["at"]
    return {**fields, "seq": seq, "prev_hash": prev_hash,
            "entry_hash": compute_entry_hash(fields, prev_hash)}


# -- a clean journal ----------------------------------------------------------------------


def test_empty_journal_verifies(session, public_keys):
    report = verify_journal(session, public_keys)
    assert report.ok and report.entries_checked == 0 and report.first_bad_seq is None


def test_clean_journal_verifies(session, make_entries, signer, public_keys):
    make_entries(30)
    assert seal_journal(session, signer).last_seq == 30
    make_entries(12, start=30)
    assert seal_journal(session, signer).entry_count == 42
    session.commit()

    report = verify_journal(session, public_keys)

    assert report.ok, report.problem
    assert (report.entries_checked, report.seals_checked) == (42, 2)
    assert report.first_bad_seq is None and report.problem is None
    again = verify_journal(session, public_keys, external_seals=list(export_seals(session)))
    assert again.ok and again.seals_checked == 2  # the same seals are not counted twice


def test_record_access_chains_and_never_commits(session):
    entry = record_access(
        session, actor_type="agent", actor_id="agent-7", action="identity:party:read",
        party_id=uuid.UUID(int=5), attribute_keys=["given_names", "family_name", "family_name"],
        purpose="civil-status", case_ref="CASE-1",
    )
    assert (entry.seq, entry.prev_hash) == (1, GENESIS_HASH)
    assert entry.attribute_keys == ["family_name", "given_names"]  # sorted, deduplicated
    assert entry.party_id == str(uuid.UUID(int=5))
    assert entry.recorded_at.tzinfo is not None
    session.rollback()  # the caller decides: nothing was committed
    assert session.execute(select(func.count()).select_from(ENTRIES)).scalar() == 0


@pytest.mark.parametrize("bad", [
    {"actor_type": "robot"},
    {"action": "read"},
    {"action": "identity:party"},
    {"party_id": "not-a-uuid"},
    {"attribute_keys": "family_name"},
    {"purpose": ""},
    {"actor_id": None},
    {"at": entry_factory(0)["at"].replace(tzinfo=None)},
    {"case_ref": "x" * 300},
    {"surname": "Dupont"},  # no field for personal values
])
def test_invalid_entries_fail_closed(session, bad):
    with pytest.raises(ValueError):
        record_accesses(session, [entry_factory(0), {**entry_factory(1), **bad}])
    assert session.execute(select(func.count()).select_from(ENTRIES)).scalar() == 0


def test_seal_only_when_there_is_something_new(session, make_entries, signer):
    assert seal_journal(session, signer) is None
    make_entries(3)
    assert seal_journal(session, signer) is not None
    assert seal_journal(session, signer) is None


def test_export_seals_lines_verify_as_external_seals(
    session, make_entries, signer, public_keys, tamper
):
    make_entries(10)
    seal_journal(session, signer)
    make_entries(5, start=10)
    seal_journal(session, signer)
    session.commit()
    lines = list(export_seals(session))
    assert [json.loads(line)["last_seq"] for line in lines] == [10, 15]

    # Cut the tail and every trace of it: entries, head and seals. Only the exported
    # seals, kept outside the hub, still tell.
    tamper("DELETE FROM journal_seals")
    tamper("DELETE FROM journal_entries WHERE seq > 12")
    tamper(update(JournalHead.__table__).values(
        last_seq=12, last_hash=entry_row(session, 12)["entry_hash"]))
    assert verify_journal(session, public_keys).ok

    report = verify_journal(session, public_keys, external_seals=lines)
    assert not report.ok and report.first_bad_seq == 13
    assert report.problem == "the journal ends at 12 but seal 2 covers up to 15 (tail cut)"


# -- tampering with one entry -------------------------------------------------------------


def _changed(field, value):
    """A different value for ``field``: subtle where possible (one microsecond, None vs "")."""
    return {
        "recorded_at": lambda v: v + timedelta(microseconds=1),
        "actor_type": lambda v: "agent" if v == "application" else "application",
        "actor_id": lambda v: v + "x",
        "on_behalf_of": lambda v: None if v else "agent-1",
        "party_id": lambda v: str(uuid.uuid4()),
        "action": lambda v: "identity:party:update",
        "attribute_keys": lambda v: sorted(v + ["iban"]),
        "purpose": lambda v: v + "-2",
        "case_ref": lambda v: "" if v is None else None,
        "request_id": lambda v: None,
        "client_address": lambda v: "203.0.113.9",
        "prev_hash": lambda v: ("e" if v[0] == "f" else "f") + v[1:],
        "entry_hash": lambda v: ("1" if v[0] == "0" else "0") + v[1:],
    }[field](value)


FIELDS = ["recorded_at", "actor_type", "actor_id", "on_behalf_of", "party_id", "action",
          "attribute_keys", "purpose", "case_ref", "request_id", "client_address",
          "prev_hash", "entry_hash"]


@pytest.mark.parametrize("seq", [1, 9, 20])
@pytest.mark.parametrize("field", FIELDS)
def test_modifying_any_field_of_any_entry_is_named(
    session, make_entries, tamper, public_keys, field, seq
):
    make_entries(20)
    row = entry_row(session, seq)
    new = _changed(field, row[field])
    assert new != row[field]
    tamper(update(ENTRIES).where(ENTRIES.c.seq == seq).values({field: new}))

    report = verify_journal(session, public_keys)

    assert not report.ok
    assert (report.first_bad_seq, report.problem) == (seq, f"entry {seq} was modified")


def test_reordering_attribute_keys_is_a_modification(session, make_entries, tamper, public_keys):
    make_entries(6)  # entry 3 has three keys
    tamper("UPDATE journal_entries SET attribute_keys = :keys WHERE seq = 3",
           keys=json.dumps(["given_names", "family_name", "birth_date"]))
    assert verify_journal(session, public_keys).problem == "entry 3 was modified"


def test_invalid_json_is_a_modification(session, make_entries, tamper, public_keys):
    make_entries(6)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL refuses the invalid JSON itself: the tampering cannot even happen.
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            tamper("UPDATE journal_entries SET attribute_keys = :keys WHERE seq = 4", keys='["family_name"]x')
        return
    tamper("UPDATE journal_entries SET attribute_keys = :keys WHERE seq = 4",
           keys='["family_name"]x')
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (4, "entry 4 was modified")


def test_moving_an_entry_to_another_seq_is_named(session, make_entries, tamper, public_keys):
    make_entries(10)
    tamper("UPDATE journal_entries SET seq = 1000 WHERE seq = 4")
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (4, "entry 4 is missing (deleted)")


# -- deleting, inserting, reordering ------------------------------------------------------


@pytest.mark.parametrize("seq", [1, 17])
def test_deleting_an_entry_is_named(session, make_entries, tamper, public_keys, seq):
    make_entries(40)
    tamper("DELETE FROM journal_entries WHERE seq = :seq", seq=seq)
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (seq, f"entry {seq} is missing (deleted)")
    assert report.entries_checked == seq - 1


def test_deleting_and_renumbering_breaks_the_chain(session, make_entries, tamper, public_keys):
    make_entries(20)
    tamper("DELETE FROM journal_entries WHERE seq = 8")
    renumber(tamper, 9, -1)
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (
        8, "entry 8 was inserted or the chain reordered")


@pytest.mark.parametrize("seq", [1, 12])
@pytest.mark.parametrize("chained", [True, False], ids=["well-chained", "dangling"])
def test_inserting_an_entry_is_named(session, make_entries, tamper, public_keys, seq, chained):
    make_entries(20)
    prev_hash = entry_row(session, seq - 1)["entry_hash"] if seq > 1 else GENESIS_HASH
    renumber(tamper, seq, 1)
    tamper(insert(ENTRIES).values(forged_entry(seq, prev_hash if chained else "ab" * 32)))

    report = verify_journal(session, public_keys)

    assert (report.first_bad_seq, report.problem) == (
        seq, f"entry {seq} was inserted or the chain reordered")


def test_appending_past_the_head_is_named(session, make_entries, tamper, public_keys):
    make_entries(10)
    tamper(insert(ENTRIES).values(forged_entry(11, entry_row(session, 10)["entry_hash"])))
    report = verify_journal(session, public_keys)
    assert report.first_bad_seq == 11 and "entry 11 was inserted" in report.problem


def test_swapping_two_entries_is_named(session, make_entries, tamper, public_keys):
    make_entries(20)
    tamper("UPDATE journal_entries SET seq = -1 WHERE seq = 7")
    tamper("UPDATE journal_entries SET seq = 7 WHERE seq = 8")
    tamper("UPDATE journal_entries SET seq = 8 WHERE seq = -1")
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (
        7, "entry 7 was inserted or the chain reordered")


# -- seals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("also_move_head", [False, True])
def test_cutting_the_tail_after_a_seal_is_named(session, make_entries, tamper, signer, public_keys,
                                                also_move_head):
    make_entries(30)
    seal = seal_journal(session, signer)
    session.commit()
    tamper("DELETE FROM journal_entries WHERE seq > 27")
    if also_move_head:
        tamper(update(JournalHead.__table__).values(
            last_seq=27, last_hash=entry_row(session, 27)["entry_hash"]))

    report = verify_journal(session, public_keys)

    assert (report.first_bad_seq, report.problem, report.bad_seal_id) == (
        28, f"the journal ends at 27 but seal {seal.id} covers up to 30 (tail cut)", seal.id)


def test_cutting_the_tail_is_caught_by_the_head_without_a_seal(
    session, make_entries, tamper, public_keys
):
    make_entries(30)
    tamper("DELETE FROM journal_entries WHERE seq > 25")
    report = verify_journal(session, public_keys)
    assert (report.first_bad_seq, report.problem) == (
        26, "the journal ends at 25 but its head records 30 (tail cut)")


def test_rewriting_the_chain_is_caught_by_the_seal(
    session, make_entries, tamper, signer, public_keys
):
    """An attacker who recomputes every hash after a change leaves a consistent chain;
    only the seal, signed with a key they do not hold, tells."""
    make_entries(30)
    seal = seal_journal(session, signer)
    session.commit()
    rows = [entry_row(session, seq) for seq in range(1, 31)]
    rows[9]["purpose"] = "something-else"
    prev_hash = rows[8]["entry_hash"]
    for row in rows[9:]:
        fields = {name: row[name] for name in row if name not in ("seq", "prev_hash", "entry_hash")}
        row["prev_hash"], row["entry_hash"] = prev_hash, compute_entry_hash(fields, prev_hash)
        prev_hash = row["entry_hash"]
        tamper(update(ENTRIES).where(ENTRIES.c.seq == row["seq"]).values(
            purpose=row["purpose"], prev_hash=row["prev_hash"], entry_hash=row["entry_hash"]))
    tamper(update(JournalHead.__table__).values(last_hash=prev_hash))

    report = verify_journal(session, public_keys)

    assert not report.ok and report.first_bad_seq == 30 and report.bad_seal_id == seal.id
    assert report.problem.startswith(f"entry 30 does not match seal {seal.id}")


def test_forged_seal_signature_is_named(session, make_entries, tamper, signer, public_keys):
    make_entries(10)
    seal = seal_journal(session, signer)
    session.commit()
    other = JoseSigner(RSAKey.generate_key(2048).as_dict(private=True), kid=signer.kid)
    forged = other.sign(b'{"whatever":1}')
    tamper(update(JournalSeal.__table__).values(signature=forged))

    report = verify_journal(session, public_keys)

    assert (report.ok, report.bad_seal_id) == (False, seal.id)
    assert report.problem == f"seal {seal.id} has an invalid signature"


def test_seal_fields_changed_under_its_signature(
    session, make_entries, tamper, signer, public_keys
):
    make_entries(10)
    seal = seal_journal(session, signer)
    session.commit()
    tamper(update(JournalSeal.__table__).values(last_seq=12, entry_count=12))
    report = verify_journal(session, public_keys)
    assert report.problem == f"seal {seal.id} has an invalid signature (its fields were changed)"


def test_seal_signed_with_an_unknown_key(session, make_entries, signer):
    make_entries(5)
    seal_journal(session, signer)
    session.commit()
    report = verify_journal(session, {})
    assert not report.ok and "unknown key" in report.problem


def test_refuses_to_seal_a_damaged_journal(session, make_entries, tamper, signer):
    make_entries(10)
    tamper("DELETE FROM journal_entries WHERE seq = 4")
    with pytest.raises(RuntimeError, match="refusing to seal"):
        seal_journal(session, signer)


# -- PostgreSQL: append-only triggers and concurrent writers ------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE journal_entries SET purpose = 'x' WHERE seq = 2",
    "DELETE FROM journal_entries WHERE seq = 3",
    "TRUNCATE journal_entries",
])
@pytest.mark.postgres
def test_postgres_rejects_update_delete_truncate(pg_app, statement):
    session = db.session
    record_accesses(session, [entry_factory(i) for i in range(3)])
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert session.execute(select(func.count()).select_from(ENTRIES)).scalar() == 3
    record_access(session, **entry_factory(3))  # appending still works
    session.commit()


@pytest.mark.postgres
def test_postgres_concurrent_appends_make_one_chain(pg_app, signer):
    writers, per_writer = 4, 40
    barrier = threading.Barrier(writers)
    errors = []

    def write(w):
        try:
            with pg_app.app_context():
                barrier.wait()
                for i in range(per_writer):
                    n = w * per_writer + i
                    if i % 5 == 0:
                        record_accesses(db.session, [entry_factory(n), entry_factory(n + 10_000)])
                    else:
                        record_access(db.session, **entry_factory(n))
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    expected = writers * (per_writer + per_writer // 5)
    seal_journal(db.session, signer)
    db.session.commit()
    report = verify_journal(db.session, signer.public_keys())
    assert report.ok, report.problem
    assert report.entries_checked == expected
    head = db.session.execute(select(JournalHead.last_seq)).scalar()
    assert head == expected
