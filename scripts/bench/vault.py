"""Benchmark: the document vault (encryption overhead, upload memory, key rotation).

In one run, on the embedded SQLite instance with the database storage (the default):

    overhead: a 10 MB document uploaded then downloaded through the API over real HTTP
              (werkzeug's server on 127.0.0.1, requests streaming the body), on an instance
              with encryption and on one with GRU_DOCUMENTS_ENCRYPTION=false (the baseline,
              same code path otherwise), rounds interleaved on both; median of --rounds
              rounds each; the overhead of encryption (target < 10 %)
    memory:   the peak resident memory of this process (server and client threads) above
              its resting size while a 200 MB document is uploaded (target < 64 MB);
              sampled from /proc/self/status every 2 ms, and its VmHWM
              high-water mark when that grows
    rotate:   data keys re-wrapped per second by `gru keys rotate`'s service on --keys
              documents (target >= 10,000/s)

then a table with PASS/MISS per target. Each instance lives in a temporary folder removed at
the end. Not a test: it prints figures and exits 0 unless something fails. Run from the
repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/vault.py [--rounds 11] [--keys 50000] [--large-mb 200]
"""

import argparse
import gc
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta

import requests
from flask_migrate import upgrade
from sqlalchemy import insert
from werkzeug.serving import make_server

from gru.app import create_app
from gru.auth.contracts import full_access_document, set_contract
from gru.auth.services import register_application
from gru.crypto import generate_key_material, write_key_file
from gru.documents.encryption import new_data_key, wrap_data_key
from gru.documents.keys import rotate_keys
from gru.documents.models import Document
from gru.extensions import db
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_party

TARGET_OVERHEAD = 0.10
TARGET_PEAK_MB = 64
TARGET_REWRAP_RATE = 10_000
MB = 1024 * 1024
TYPES = ["identity_card", "proof_of_address", "other"]


class Instance:
    """A fresh hub (keys, migrated SQLite schema) served over HTTP on 127.0.0.1."""

    def __init__(self, encrypted, max_bytes):
        self.folder = tempfile.mkdtemp(prefix="gru-bench-vault-")
        write_key_file(os.path.join(self.folder, "keys.json"), generate_key_material())
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app = create_app({
            "GRU_INSTANCE_PATH": self.folder,
            "GRU_BASE_URL": self.url,
            "GRU_DOCUMENTS_ENCRYPTION": encrypted,
            "GRU_DOCUMENTS_MAX_BYTES": max_bytes,
        })
        with self.app.app_context():
            logging.disable(logging.INFO)  # the migrations' log would drown the figures
            try:
                upgrade(directory=self.app.extensions["migrate"].directory)
            finally:
                logging.disable(logging.NOTSET)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        with self.app.app_context():
            application, secret = register_application("bench", "Bench")
            catalogue = self.app.extensions["gru.catalogue"]
            set_contract("bench", {**full_access_document(catalogue, ["bench"]), "document_types": TYPES},
                         catalogue, author="bench")
            party, _ = create_party("person", {"family_name": "Banc", "given_names": "Essai"},
                                    make_provenance("desk", "declared"), Actor(type="agent", id="bench"))
            db.session.commit()
            self.party_id, client_id = party.id, application.client_id
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.session = requests.Session()
        token = self.session.post(f"{self.url}/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=(client_id, secret), timeout=30).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def upload(self, path, type_="other"):
        with open(path, "rb") as body:
            response = self.session.post(
                f"{self.url}/api/v1/parties/{self.party_id}/documents", params={"type": type_}, data=body,
                headers={"Content-Type": "application/pdf"}, timeout=600,
            )
        if response.status_code != 201:
            raise RuntimeError(f"upload failed: {response.status_code} {response.text[:200]}")
        return response.json()["id"]

    def download(self, document_id):
        size = 0
        with self.session.get(f"{self.url}/api/v1/documents/{document_id}/content", stream=True, timeout=600) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_content(256 * 1024):
                size += len(chunk)
        return size

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        with self.app.app_context():
            db.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def write_pdf(path, size, seed):
    """A PDF-headed file of random bytes (different per seed: no duplicate refusal)."""
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.7\n" + seed.encode() + b"\n")
        written = handle.tell()
        while written < size:
            block = os.urandom(min(MB, size - written))
            handle.write(block)
            written += len(block)


def measure_overhead(rounds, folder):
    """Median round trip on each instance; rounds interleaved (ABBA...) on both instances
    served at once, so that the load of a shared machine weighs on both sides alike."""
    instances = {encrypted: Instance(encrypted, 32 * MB) for encrypted in (True, False)}
    samples = {True: [], False: []}
    try:
        for number in range(rounds + 1):
            order = (True, False) if number % 2 == 0 else (False, True)
            for encrypted in order:
                path = os.path.join(folder, f"ten-{encrypted}-{number}.pdf")
                write_pdf(path, 10 * 1000 * 1000, f"{encrypted}-{number}")
                started = time.perf_counter()
                document_id = instances[encrypted].upload(path)
                size = instances[encrypted].download(document_id)
                elapsed = time.perf_counter() - started
                os.unlink(path)
                assert size == 10 * 1000 * 1000
                if number:  # the first round warms up
                    samples[encrypted].append(elapsed)
    finally:
        for instance in instances.values():
            instance.close()
    return statistics.median(samples[True]), statistics.median(samples[False])


def rss_kib(field="VmRSS"):
    """Resident memory (VmRSS) or its high-water mark (VmHWM) of this process, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_peak_memory(size_mb, folder):
    instance = Instance(True, (size_mb + 1) * MB)
    path = os.path.join(folder, "large.pdf")
    write_pdf(path, size_mb * MB, "large")
    try:
        small = os.path.join(folder, "small.pdf")
        write_pdf(small, MB, "warm-up")
        instance.upload(small)  # warm the code paths and the connection pool
        gc.collect()
        time.sleep(0.2)
        resting = rss_kib()
        high_water_before = rss_kib("VmHWM")
        peak = [resting]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib())
                time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        instance.upload(path)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        # The kernel's high-water mark catches a peak between two samples, once it passes
        # the previous one.
        high_water = rss_kib("VmHWM")
        if high_water > high_water_before:
            peak[0] = max(peak[0], high_water)
        return (peak[0] - resting) / 1024, resting / 1024, elapsed
    finally:
        instance.close()
        os.unlink(path)


def measure_rotation(count):
    instance = Instance(True, MB)
    try:
        with instance.app.app_context():
            party_pk = db.session.scalar(db.select(db.text("pk")).select_from(db.text("parties")))
            kek = instance.app.extensions["gru.documents"].keys.key(1)
            today = date.today()
            rows = []
            for _ in range(count):
                document_id = uuid.uuid4()
                rows.append({
                    "id": document_id, "party_pk": party_pk, "type": "other", "content_type": "application/pdf",
                    "size_bytes": 1, "segment_count": 1, "status": "pending", "content_hmac": uuid.uuid4().hex * 2,
                    "is_encrypted": True, "kek_version": 1,
                    "wrapped_key": wrap_data_key(kek, 1, document_id, new_data_key()),
                    "storage_backend": "database", "storage_key": uuid.uuid4().hex, "uploaded_by_type": "agent",
                    "uploaded_by_id": "bench", "purge_after": today + timedelta(days=365),
                })
            db.session.execute(insert(Document.__table__), rows)
            db.session.commit()
            started = time.perf_counter()
            rotation = rotate_keys()
            db.session.commit()
            elapsed = time.perf_counter() - started
            assert rotation.rewrapped == count
        return count / elapsed, elapsed
    finally:
        instance.close()


def verdict(is_met):
    return "PASS" if is_met else "MISS"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--keys", type=int, default=50_000)
    parser.add_argument("--large-mb", type=int, default=200)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="gru-bench-files-")
    try:
        # Memory first: the high-water mark is then not yet raised by the other phases.
        peak, resting, upload_seconds = measure_peak_memory(args.large_mb, folder)
        print(f"memory:   {args.large_mb} MB upload in {upload_seconds:.1f} s, peak RSS {peak:.1f} MB "
              f"above a resting {resting:.0f} MB")
        encrypted, plain = measure_overhead(args.rounds, folder)
        overhead = encrypted / plain - 1
        print(f"overhead: 10 MB upload+download, encrypted {encrypted * 1000:.0f} ms, "
              f"not encrypted {plain * 1000:.0f} ms (median of {args.rounds}): {overhead * 100:+.1f} %")
        rate, seconds = measure_rotation(args.keys)
        print(f"rotate:   {args.keys} data keys re-wrapped in {seconds:.2f} s: {rate:,.0f} keys/s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"{'target':<48} {'measured':>14}  result")
    print(f"{'encryption overhead < 10 %':<48} {overhead * 100:>13.1f}%  {verdict(overhead < TARGET_OVERHEAD)}")
    print(f"{'upload peak memory < 64 MB above resting':<48} {peak:>11.1f} MB  {verdict(peak < TARGET_PEAK_MB)}")
    print(f"{'re-wrap >= 10,000 keys/s (SQLite)':<48} {rate:>12,.0f}/s  {verdict(rate >= TARGET_REWRAP_RATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
