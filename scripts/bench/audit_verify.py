"""Benchmark: how fast :func:`gru.audit.chain.verify_journal` walks a large journal.

Builds a journal of ``--entries`` (default 1,000,000) entries with their real hash chain
and a seal in a temporary SQLite file, then times one verification and prints::

    verify: N entries in S s = R entries/s (target >= 100,000)

Not a test: it prints figures. Run from the repository root::

    PYTHONPATH=. python scripts/bench/audit_verify.py [--entries N] [--keep PATH]
"""

import argparse
import os
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import insert, text

from gru.audit.chain import chain_entries, verify_journal
from gru.audit.journal import JoseSigner, ensure_journal_head, seal_journal
from gru.audit.models import JournalEntry, JournalHead, JournalSeal
from gru.extensions import db

BATCH = 20_000
ACTIONS = ("identity:party:read", "identity:party:search", "identity:party:update",
           "documents:document:download")
KEYS = (["family_name"], ["birth_date", "family_name", "given_names"], ["postal_address"])
START_AT = datetime(2025, 1, 1, tzinfo=timezone.utc)


def fields(i: int) -> dict:
    """A plausible entry: ids, keys and purposes only, as the journal holds."""
    return {
        "recorded_at": START_AT + timedelta(microseconds=37 * i),
        "actor_type": "agent" if i % 5 == 0 else "application",
        "actor_id": f"app-{i % 12}",
        "on_behalf_of": f"agent-{i % 40}" if i % 3 == 0 else None,
        "party_id": str(uuid.UUID(int=(i * 2654435761) % (1 << 122))),
        "action": ACTIONS[i % 4],
        "attribute_keys": KEYS[i % 3],
        "purpose": "social-aid",
        "case_ref": f"CASE-2025-{i % 9973:05d}" if i % 2 else None,
        "request_id": f"{i // 4:016x}",
        "client_address": "10.1.2.3",
    }


def build(app, entries: int) -> float:
    """Bulk-insert ``entries`` chained entries, one seal at the end; returns the seconds."""
    started = time.perf_counter()
    with app.app_context():
        tables = [JournalEntry.__table__, JournalHead.__table__, JournalSeal.__table__]
        db.metadata.create_all(db.engine, tables=tables)
        with db.engine.begin() as connection:
            connection.execute(text("PRAGMA journal_mode = OFF"))
            connection.execute(text("PRAGMA synchronous = OFF"))
            last_seq, last_hash = 0, "0" * 64
            for start in range(0, entries, BATCH):
                rows = chain_entries(
                    (fields(i) for i in range(start, min(start + BATCH, entries))),
                    last_seq, last_hash,
                )
                connection.execute(insert(JournalEntry.__table__), rows)
                last_seq, last_hash = rows[-1]["seq"], rows[-1]["entry_hash"]
            ensure_journal_head(connection)
            connection.execute(
                JournalHead.__table__.update().values(last_seq=last_seq, last_hash=last_hash)
            )
        key = RSAKey.generate_key(2048, parameters={"kid": "bench"})
        signer = JoseSigner(key.as_dict(private=True))
        seal_journal(db.session, signer)
        db.session.commit()
    app.config["BENCH_PUBLIC_KEYS"] = signer.public_keys()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", help="SQLite file to build (and keep); default a temporary one")
    args = parser.parse_args()

    directory = None if args.keep else tempfile.mkdtemp(prefix="gru-audit-bench-")
    path = args.keep or os.path.join(directory, "journal.db")
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    db.init_app(app)
    try:
        built = build(app, args.entries)
        print(f"build: {args.entries:,} entries in {built:.1f} s ({path})")
        with app.app_context():
            started = time.perf_counter()
            report = verify_journal(db.session, app.config["BENCH_PUBLIC_KEYS"])
            elapsed = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
        assert report.ok, report
        rate = report.entries_checked / elapsed
        print(f"verify: {report.entries_checked:,} entries in {elapsed:.2f} s = {rate:,.0f} "
              f"entries/s (target >= 100,000); seals checked: {report.seals_checked}")
    finally:
        if directory:
            for name in os.listdir(directory):
                os.remove(os.path.join(directory, name))
            os.rmdir(directory)


if __name__ == "__main__":
    main()
