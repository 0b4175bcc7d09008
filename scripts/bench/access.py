"""Benchmark: what access control costs on a read (issue "access control and journal").

In one run, on SQLite and/or PostgreSQL, with ``--persons`` persons loaded:

    full:     GET /api/v1/parties/{id} with a real token (signature check), the service
              contract (filtering, purpose) and a journal entry written and committed
    bypassed: the same read (same service calls, same serialisation) through a route
              with no token, no contract and no journal

and prints requests per second, p50 and p95 of each and the ratio full/bypassed (target:
at most 1.3). Then it runs ``scripts/bench/audit_verify.py`` for the throughput of
``gru audit verify`` on a 1,000,000-entry journal (target: at least 100,000 entries/s).
Not a test: it prints figures. Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/access.py [--persons N] [--reads N]
        [--backend sqlite|postgresql|both] [--journal-entries N]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from gru.auth.contracts import full_access_document, set_contract
from gru.auth.services import register_application
from gru.extensions import db
from gru.identity import schemas
from gru.identity.services import parties as party_service
from gru.identity.services import records
from gru.identity.services.context import Actor, make_provenance
from gru.rest.rendering import json_response

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from core import Instance  # noqa: E402

TARGET_RATIO = 1.3
WARM_UP = 200
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NAMES = ("Wamytan", "Gowé", "Kaloi", "Tein", "Nakamura", "Martin", "Dubois", "Tuihalamaka", "Nguyen", "Poadja")
GIVEN = ("Élise", "Paul", "Rose", "Jean", "Marie", "Kévin", "Léa", "Marc", "Sione", "Hina")


def load(app, persons):
    loader = Actor("agent", "bench")
    ids = []
    with app.app_context():
        provenance = make_provenance("desk", "official_proof_scan_checked")
        people = [
            {
                "family_name": random.choice(NAMES),
                "given_names": random.choice(GIVEN),
                "birth_date": f"{random.randint(1940, 2020)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
                "email": f"person{index}@example.nc",
                "mobile_phone": f"+687 7{random.randint(0, 9)} {random.randint(10, 99)} {random.randint(10, 99)}",
            }
            for index in range(persons)
        ]
        for start in range(0, persons, 1000):
            created = party_service.create_parties("person", people[start:start + 1000], provenance, loader)
            ids.extend(str(party_id) for party_id, _outcomes in created)
            db.session.commit()
        application, secret = register_application("bench", "Bench")
        set_contract("bench", full_access_document(app.extensions["gru.catalogue"], ["bench"]),
                     app.extensions["gru.catalogue"], "bench")
        db.session.commit()
        db.session.remove()
        # As scripts/bench/core.py: a database in service has planner statistics.
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        return ids, application.client_id, secret


def add_bypassed_route(app):
    """The read without token, contract or journal: the same flask-smorest handler shape
    (MethodView, ``@blp.response`` with the party schema), the same service, the same
    serialisation and a session ended by the request teardown, as the real one."""
    blp = Blueprint("bench_bypassed", __name__, url_prefix="/bench")

    @blp.route("/bypassed/<uuid:party_id>")
    class Bypassed(MethodView):
        @blp.response(200, schemas.PartySchema)
        def get(self, party_id):
            record = records.read_record(party_id)
            return json_response(record.document, 200, {"ETag": record.etag})

    app.extensions["gru.api"].register_blueprint(blp)


def time_requests(client, urls, headers):
    for url in urls[:WARM_UP]:
        assert client.get(url, headers=headers).status_code == 200
    latencies = []
    started = time.perf_counter()
    for url in urls:
        before = time.perf_counter()
        response = client.get(url, headers=headers)
        latencies.append(time.perf_counter() - before)
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(urls) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
    }


def run(backend, arguments):
    instance = Instance(backend, arguments.postgres_url)
    app = instance.app
    try:
        ids, client_id, secret = load(app, arguments.persons)
        add_bypassed_route(app)
        client = app.test_client()
        token = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).get_json()["access_token"]
        chosen = [random.choice(ids) for _ in range(arguments.reads)]
        full = time_requests(client, [f"/api/v1/parties/{i}" for i in chosen], {"Authorization": f"Bearer {token}"})
        bypassed = time_requests(client, [f"/bench/bypassed/{i}" for i in chosen], {})
        ratio = bypassed["rps"] / full["rps"]
        print(f"[{backend}] {arguments.persons} persons, {arguments.reads} reads each")
        for name, figures in (("full", full), ("bypassed", bypassed)):
            print(f"  {name:9} {figures['rps']:8.0f} req/s  p50 {figures['p50']:.2f} ms  p95 {figures['p95']:.2f} ms")
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        print(f"  full path costs {ratio:.2f}x the bypassed read (target <= {TARGET_RATIO}) {verdict}")
    finally:
        instance.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=3_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--journal-entries", type=int, default=1_000_000)
    arguments = parser.parse_args()
    random.seed(7)
    for backend in ("sqlite", "postgresql") if arguments.backend == "both" else (arguments.backend,):
        run(backend, arguments)
    if arguments.journal_entries:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "audit_verify.py")
        subprocess.run([sys.executable, script, "--entries", str(arguments.journal_entries)], check=True)


if __name__ == "__main__":
    main()
