"""Benchmark: deliveries to a local webhook receiver on PostgreSQL.

Prints::

    throughput: 10,000 party.created events delivered by one `gru worker` process to a
                local receiver (signed CloudEvents, per-party order, journal entry each):
                deliveries per second, first to last arrival (target >= 500/s)
    latency:    at a steady 50 changes per second (PATCH-equivalent updates through the
                identity services, one commit each), the time from each commit to its
                arrival at the receiver: p50 and p95 (target p95 < 1 s)

then PASS/MISS per target. A fresh instance in a temporary folder (keys, migrated schema)
and a PostgreSQL database created for the run and dropped at its end. The receiver runs in
a process of its own (http.server, threads) and notes the arrival time of each
``webhook-id``; the worker is the real ``gru worker`` command in a subprocess. Not a test:
it prints figures and exits 0 unless something fails. Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/connectors.py [--events N] [--rate N] \
        [--seconds N] [--postgres-url URL]
"""

import argparse
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from sqlalchemy import func, select, text

from gru.auth.contracts import full_access_document, set_contract
from gru.auth.services import register_application
from gru.connectors.models import Delivery
from gru.connectors.services import create_instance
from gru.connectors.webhook import new_secret
from gru.events.models import Event
from gru.extensions import db
from gru.identity.search.duplicates import detect_pending
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_parties, update_party

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from core import Instance as HubInstance  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_RATE = 500
TARGET_P95_SECONDS = 1.0
LOADER = Actor(type="agent", id="bench")


# --- the receiver, in a process of its own ---------------------------------------------


def _serve(port_queue):
    arrivals = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            arrivals.setdefault(self.headers.get("webhook-id"), time.time())
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            body = json.dumps(arrivals).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_port)
    server.serve_forever()


class Receiver:
    def __init__(self):
        queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_serve, args=(queue,), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{queue.get(timeout=10)}"

    def arrivals(self):
        return requests.get(self.url + "/arrivals", timeout=30).json()

    def stop(self):
        self.process.terminate()
        self.process.join(5)


# --- the instance ------------------------------------------------------------------------


class Instance(HubInstance):
    """A hub on PostgreSQL (``scripts/bench/core.py``) and the ``gru worker`` delivering for it."""

    def __init__(self, postgres_url):
        super().__init__("postgresql", postgres_url)
        self.worker = None

    def start_worker(self):
        environment = {**os.environ, **{name: str(value) for name, value in self.settings.items()}}
        command = os.path.join(os.path.dirname(sys.executable), "gru")
        self.worker = subprocess.Popen([command, "worker"], env=environment, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)

    def close(self):
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(10)
        super().close()


def configure(app, receiver_url):
    with app.app_context():
        register_application("mairie", "Mairie")
        catalogue = app.extensions["gru.catalogue"]
        document = full_access_document(catalogue, purposes=["notify"])
        document["events"] = ["party.created", "party.updated"]
        set_contract("mairie", document, catalogue, author="bench")
        create_instance("mairie-webhook", "webhook", "mairie", {"url": receiver_url, "secrets": [new_secret()]})
        db.session.commit()


def load(app, count):
    """``count`` persons (one party.created event each), 1,000 a transaction.

    Then, outside the clock, the duplicate detection that ``gru worker`` would otherwise
    run on them at start, in the same process as the deliveries: the throughput measured
    is the deliveries' of a hub whose last import was already examined, not a race
    between the two jobs.
    """
    ids = []
    with app.app_context():
        provenance = make_provenance("desk", "declared")
        for start in range(0, count, 1000):
            batch = [{"family_name": f"Bench{number}", "given_names": "Élise",
                      "birth_date": (date(1930, 1, 1) + timedelta(days=number)).isoformat()}
                     for number in range(start, min(count, start + 1000))]
            ids.extend(party_id for party_id, _ in create_parties("person", batch, provenance, LOADER))
            db.session.commit()
        while detect_pending()[0]:
            db.session.commit()
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return ids


def open_deliveries(app):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.status.in_(("pending", "retrying"))))
        db.session.remove()
        return count


def wait_until_delivered(app, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if open_deliveries(app) == 0:
            return True
        time.sleep(0.2)
    return False


def steady_changes(app, ids, rate, seconds, seed=7):
    """One committed update every 1/rate seconds; returns {event id: commit time}."""
    pick = random.Random(seed)
    committed = {}
    interval = 1.0 / rate
    with app.app_context():
        provenance = make_provenance("desk", "declared")
        started = time.monotonic()
        for number in range(int(rate * seconds)):
            due = started + number * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            party_id = pick.choice(ids)
            update_party(party_id, "*", {"postal_address": {"lines": [f"{number} rue Jean Jaurès"],
                                                            "postal_code": "98800"}}, provenance, LOADER)
            event_id = db.session.scalar(select(Event.id).where(Event.party_id == party_id)
                                         .order_by(Event.sequence.desc()).limit(1))
            db.session.commit()
            committed[str(event_id)] = time.time()
        db.session.remove()
    return committed


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def verdict(is_met):
    return "PASS" if is_met else "MISS"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=50, help="changes per second of the latency run")
    parser.add_argument("--seconds", type=int, default=30, help="length of the latency run")
    parser.add_argument("--postgres-url", default=os.environ.get("GRU_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()

    receiver = Receiver()
    instance = Instance(args.postgres_url)
    try:
        configure(instance.app, receiver.url + "/events")
        print(f"loading {args.events:,} persons (one event each)...", flush=True)
        ids = load(instance.app, args.events)
        instance.start_worker()
        if not wait_until_delivered(instance.app, timeout=max(120, args.events / 50)):
            print("throughput: the worker did not deliver everything in time", file=sys.stderr)
            return 1
        arrivals = sorted(receiver.arrivals().values())
        rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        print(f"throughput: {len(arrivals):,} deliveries, {rate:,.0f} deliveries/s (first to last arrival)")

        print(f"latency: {args.rate} changes/s for {args.seconds} s...", flush=True)
        committed = steady_changes(instance.app, ids, args.rate, args.seconds)
        wait_until_delivered(instance.app, timeout=60)
        time.sleep(0.5)
        arrived = receiver.arrivals()
        delays = [arrived[event_id] - at for event_id, at in committed.items() if event_id in arrived]
        missing = len(committed) - len(delays)
        p50, p95 = percentile(delays, 0.5), percentile(delays, 0.95)
        print(f"latency: {len(delays):,} changes, commit to delivery p50 {p50 * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms, "
              f"mean {statistics.fmean(delays) * 1000:.0f} ms, {missing} not arrived")
        print()
        print(f"{verdict(rate >= TARGET_RATE)}  deliveries/s {rate:,.0f} (target >= {TARGET_RATE})")
        print(f"{verdict(p95 < TARGET_P95_SECONDS and not missing)}  p95 commit to delivery "
              f"{p95 * 1000:.0f} ms at {args.rate}/s (target < {TARGET_P95_SECONDS * 1000:.0f} ms)")
        return 0
    finally:
        instance.close()
        receiver.stop()


if __name__ == "__main__":
    sys.exit(main())
