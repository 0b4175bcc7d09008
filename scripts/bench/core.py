"""Benchmark: the core of the hub (persons created, golden records read and patched).

With ``--persons`` persons (default 100,000) loaded through the identity services, on
SQLite and on PostgreSQL, prints for each backend::

    create: persons/s through create_parties, 1,000 a transaction (target >= 2,000)
    read:   GET /api/v1/parties/{id} requests/s through the WSGI app, p50, p95
            (target p95 < 10 ms), and the same for a bare Flask endpoint returning a
            JSON object of the same size, measured in the same run; the ratio full/bare
            (target >= 0.5)
    patch:  attribute values written per second by PATCH /api/v1/parties/{id}

then a table with PASS/MISS per target. Each backend gets a fresh instance in a temporary
folder (keys and migrated schema); PostgreSQL gets a database created for the run and
dropped at its end. Not a test: it prints figures and exits 0 unless something fails.
Requests go through ``app.test_client()`` one at a time, in this process. Run from the
repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/core.py [--persons N] \
        [--backend sqlite|postgresql|both] [--reads N] [--patches N] [--postgres-url URL]
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
import uuid
from datetime import date, timedelta

from flask import Flask, jsonify
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gru.app import create_app
from gru.auth.contracts import full_access_document, set_contract
from gru.auth.services import register_application
from gru.crypto import generate_key_material, write_key_file
from gru.extensions import db
from gru.identity.communes import nc_communes
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_parties

COMMIT_EVERY = 1_000
WARM_UP = 200
TARGET_CREATE_RATE = 2_000
TARGET_READ_RATIO = 0.5
TARGET_READ_P95_MS = 10.0
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOADER = Actor(type="agent", id="bench")

FAMILY_NAMES = (
    "Tein", "Nakamura", "Tuihalamaka", "Vaimua", "Wamytan", "Gorodey", "Nguyen", "Martin",
    "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
    "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Faure",
    "Wahetra", "Kaloi", "Hnawia", "Poigoune", "Wabealo", "Tjibaou", "Ukeiwé", "Lalié", "Naisseline",
    "Tran", "Pham", "Lê", "Takahashi", "Sato", "Falelavaki", "Mulikihaamea", "Taofifénua",
)
GIVEN_NAMES = {
    "M": ("Jean", "Marc", "Soane", "Petelo", "Kylian", "Wapae", "Louis", "Hugo", "Noa", "Théo",
          "Raphaël", "Jules", "Éloi", "Kalolo", "Sioni", "Lucas", "Paul", "Yann", "Wassissi"),
    "F": ("Aiko", "Élise", "Maëva", "Naoko", "Malia", "Léa", "Chloé", "Inès", "Manon", "Sina",
          "Emma", "Jade", "Louise", "Mélia", "Tiare", "Hélène", "Zoé", "Kaliane", "Wénéwé"),
}
STREETS = ("rue Jean Jaurès", "rue Guynemer", "avenue du Maréchal Foch", "rue de Sébastopol",
           "promenade Roger Laroque", "rue Paul Doumer", "route de l'Anse Vata", "rue Higginson",
           "boulevard Vauban", "rue du Général Mangin", "route du Port Despointes", "rue Auer")
BUILDINGS = ("Résidence Les Flamboyants", "Immeuble Le Lagon", "Résidence Les Cocotiers",
             "Lotissement Les Niaoulis")
#: OPT-NC mobile numbers start with 7x, 8x (but 88, fixed lines) or 9x.
MOBILE_PREFIXES = tuple(str(prefix) for prefix in range(70, 100) if prefix != 88)
#: Birth places out of New Caledonia: Uvea, Papeete, Lyon, Paris, Marseille.
OTHER_BIRTH_PLACES = ("98613", "98735", "69123", "75056", "13055")


def ascii_slug(name):
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-") or "x"


class PersonMaker:
    """Varied, made-up persons (e-mail addresses on example.nc only), reproducible by seed."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.communes = [(c["insee"], c["postal_codes"]) for c in nc_communes()]

    def __call__(self, number):
        pick = self.random
        sex = pick.choice("MF")
        family = pick.choice(FAMILY_NAMES)
        given = " ".join(pick.sample(GIVEN_NAMES[sex], pick.choice((1, 1, 2, 3))))
        insee, postal_codes = pick.choice(self.communes)
        lines = [f"{pick.randint(1, 250)} {pick.choice(STREETS)}"]
        if pick.random() < 0.3:
            lines.insert(0, f"{pick.choice(BUILDINGS)}, appartement {pick.randint(1, 80)}")
        born = date(1930, 1, 1) + timedelta(days=pick.randrange(33_000))
        birth_place = pick.choice(self.communes)[0] if pick.random() < 0.8 else pick.choice(OTHER_BIRTH_PLACES)
        return {
            "family_name": family,
            "given_names": given,
            "sex": sex,
            "birth_date": born.isoformat(),
            "birth_place": birth_place,
            "email": f"{ascii_slug(given.split()[0])}.{ascii_slug(family)}.{number}@example.nc",
            "mobile_phone": f"+687 {pick.choice(MOBILE_PREFIXES)} {pick.randint(0, 99):02d} "
                            f"{pick.randint(0, 99):02d}",
            "postal_address": {"lines": lines, "postal_code": pick.choice(postal_codes),
                               "commune_insee": insee},
        }


# --- Instances ------------------------------------------------------------------------


def is_kept_name(name):
    """A name a kept base may have (:class:`Instance`): ``gru_bench_`` then lower-case
    letters, digits or underscores, the same as a database and as a folder."""
    return re.fullmatch(r"gru_bench_[a-z0-9_]+", name) is not None


class Instance:
    """A hub in a temporary folder: keys, migrated schema, and its own database.

    ``name`` keeps it for later runs: the folder is ``<temporary dir>/<name>`` and the
    PostgreSQL database ``<name>``, both left in place by :meth:`close`; ``reuse`` opens
    one kept that way (migrated to the current head) instead of creating it. Drop a kept
    one with ``DROP DATABASE <name>`` and by removing its folder.
    """

    def __init__(self, backend, postgres_url, name=None, reuse=False):
        self.backend = backend
        self.is_kept = name is not None
        if name is not None:
            self.folder = os.path.join(tempfile.gettempdir(), name)
            if reuse != os.path.isdir(self.folder):
                raise RuntimeError(f"{self.folder} {'does not exist' if reuse else 'exists already'}")
            os.makedirs(self.folder, exist_ok=True)
        else:
            self.folder = tempfile.mkdtemp(prefix=f"gru-core-bench-{backend}-")
        self.server = self.database = None
        if backend == "sqlite":
            url = f"sqlite:///{self.folder}/gru.sqlite3"
        else:
            self.server = make_url(postgres_url)
            if self.server.drivername == "postgresql":
                self.server = self.server.set(drivername="postgresql+psycopg")
            self.database = name or f"gru_bench_{uuid.uuid4().hex[:10]}"
            if not reuse:
                self._admin(f'CREATE DATABASE "{self.database}"')
            url = self.server.set(database=self.database).render_as_string(hide_password=False)
        if not reuse:
            write_key_file(f"{self.folder}/keys.json", generate_key_material())
        #: the hub's settings, for the commands a benchmark runs on it (``gru worker``)
        self.settings = {
            "GRU_INSTANCE_PATH": self.folder,
            "GRU_DATABASE_URL": url,
            "GRU_BASE_URL": "http://hub.bench",
            "GRU_ACCESS_TOKEN_LIFETIME": 3600,
        }
        self.app = create_app(self.settings)
        with self.app.app_context():
            upgrade(directory=self.app.extensions["migrate"].directory)

    def _admin(self, statement):
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def close(self):
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        if self.is_kept:
            return
        if self.database:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)


# --- Measures -------------------------------------------------------------------------


def load_persons(app, count, seed):
    """Create ``count`` persons through the service layer (``create_parties``, a batch of
    ``COMMIT_EVERY`` per transaction, as an import does); returns (ids, persons/s)."""
    make_person = PersonMaker(seed)
    people = [make_person(number) for number in range(count)]  # generated outside the clock
    ids = []
    with app.app_context():
        provenance = make_provenance("desk", "original_document_checked")
        started = time.perf_counter()
        for start in range(0, count, COMMIT_EVERY):
            created = create_parties("person", people[start:start + COMMIT_EVERY], provenance, LOADER)
            db.session.commit()
            ids.extend(party_id for party_id, _outcomes in created)
            if len(ids) % (10 * COMMIT_EVERY) == 0:
                rate = len(ids) / (time.perf_counter() - started)
                print(f"  ... {len(ids):,} persons, {rate:,.0f}/s", flush=True)
        elapsed = time.perf_counter() - started
        db.session.remove()
        # A database in service has planner statistics; one loaded a second ago has none,
        # and the planner would then choose scans for the reads measured next.
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return ids, count / elapsed


def bench_application(app):
    """``(client_id, secret)`` of a new application "bench" with every scope and a
    full-access contract for the single purpose "benchmark" (so no GRU-Purpose header)."""
    with app.app_context():
        application, secret = register_application("bench", "Benchmark")
        client_id = application.client_id
        catalogue = app.extensions["gru.catalogue"]
        set_contract("bench", full_access_document(catalogue, purposes=["benchmark"]), catalogue, author="bench")
        db.session.commit()
        db.session.remove()
    return client_id, secret


def bearer_headers(app, credentials=None):
    """Headers with a real access token from /oauth/token, for ``credentials`` (by
    default those of a new :func:`bench_application`)."""
    client_id, secret = credentials or bench_application(app)
    response = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    if response.status_code != 200:
        raise RuntimeError(f"/oauth/token answered {response.status_code}: {response.get_data(as_text=True)}")
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def timed_gets(client, paths, headers):
    """Latencies (s) of GET each path, one by one; every answer must be 200."""
    latencies = []
    clock = time.perf_counter
    for path in paths:
        started = clock()
        response = client.get(path, headers=headers)
        latencies.append(clock() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)}")
    return latencies


def summary(latencies):
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / sum(ordered),
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


def bare_app(body):
    """A Flask app with one endpoint answering ``body`` through jsonify: the floor."""
    app = Flask("bare")
    app.json.sort_keys = False

    @app.get("/bare/<uuid:party_id>")
    def bare(party_id):
        return jsonify(body)

    return app


def measure_reads(app, ids, headers, count, rng):
    client = app.test_client()
    timed_gets(client, [f"/api/v1/parties/{i}" for i in rng.choices(ids, k=WARM_UP)], headers)
    paths = [f"/api/v1/parties/{i}" for i in rng.choices(ids, k=count)]
    full = summary(timed_gets(client, paths, headers))
    sample = client.get(paths[0], headers=headers)
    body = json.loads(sample.get_data())
    full["body_bytes"] = len(sample.get_data())

    floor = bare_app(body)
    bare_client = floor.test_client()
    bare_paths = [path.replace("/api/v1/parties/", "/bare/") for path in paths]
    timed_gets(bare_client, bare_paths[:WARM_UP], headers)
    bare = summary(timed_gets(bare_client, bare_paths, headers))
    bare["body_bytes"] = len(bare_client.get(bare_paths[0]).get_data())
    return full, bare


def measure_patches(app, ids, headers, count, rng):
    """PATCH one attribute (e-mail or mobile phone) after reading the ETag; values/s."""
    client = app.test_client()
    write_seconds, values = 0.0, 0
    latencies = []
    for number, party_id in enumerate(rng.sample(ids, k=min(count, len(ids)))):
        path = f"/api/v1/parties/{party_id}"
        etag = client.get(path, headers=headers).headers["ETag"]
        if number % 2:
            attributes = {"email": f"patched.{number}@example.nc"}
        else:
            attributes = {"mobile_phone": f"+687 9{number % 10} {number // 10 % 100:02d} {number % 100:02d}"}
        payload = {"attributes": attributes, "channel": "application", "process": "declared"}
        started = time.perf_counter()
        response = client.patch(path, json=payload, headers={**headers, "If-Match": etag})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"PATCH {path} answered {response.status_code}: {response.get_data(as_text=True)}")
        outcomes = response.json["attributes"]
        values += sum(1 for outcome in outcomes.values() if outcome["status"] in ("updated", "kept_lower_level"))
        write_seconds += elapsed
        latencies.append(elapsed)
    result = summary(latencies)
    result["values_per_s"] = values / write_seconds
    result["values"] = values
    return result


def run_backend(backend, args):
    print(f"\n== {backend}: {args.persons:,} persons ==", flush=True)
    rng = random.Random(args.seed)
    instance = Instance(backend, args.postgres_url)
    try:
        ids, create_rate = load_persons(instance.app, args.persons, args.seed)
        print(f"create: {args.persons:,} persons, {create_rate:,.0f} persons/s "
              f"(target >= {TARGET_CREATE_RATE:,})", flush=True)
        headers = bearer_headers(instance.app)
        full, bare = measure_reads(instance.app, ids, headers, args.reads, rng)
        ratio = full["rps"] / bare["rps"]
        print(f"read:   {full['rps']:,.0f} req/s, p50 {full['p50_ms']:.2f} ms, p95 {full['p95_ms']:.2f} ms "
              f"({args.reads:,} GET, body {full['body_bytes']:,} bytes)")
        print(f"bare:   {bare['rps']:,.0f} req/s, p50 {bare['p50_ms']:.2f} ms, p95 {bare['p95_ms']:.2f} ms "
              f"(body {bare['body_bytes']:,} bytes)")
        print(f"ratio:  full/bare {ratio:.3f} (target >= {TARGET_READ_RATIO})", flush=True)
        patch = measure_patches(instance.app, ids, headers, args.patches, rng)
        print(f"patch:  {patch['values_per_s']:,.0f} values/s ({patch['values']:,} values), "
              f"p50 {patch['p50_ms']:.2f} ms, p95 {patch['p95_ms']:.2f} ms", flush=True)
    finally:
        instance.close()
    return {"create": create_rate, "full": full, "bare": bare, "ratio": ratio, "patch": patch}


def verdict(is_met):
    return "PASS" if is_met else "MISS"


def print_table(results, persons):
    print(f"\n== summary ({persons:,} persons) ==")
    print(f"{'backend':<11} {'measure':<24} {'value':>12}  {'target':<12} result")
    for backend, r in results.items():
        rows = [
            ("persons created/s", f"{r['create']:,.0f}", f">= {TARGET_CREATE_RATE:,}",
             verdict(r["create"] >= TARGET_CREATE_RATE)),
            ("GET party req/s", f"{r['full']['rps']:,.0f}", "", ""),
            ("bare endpoint req/s", f"{r['bare']['rps']:,.0f}", "", ""),
            ("read ratio full/bare", f"{r['ratio']:.3f}", f">= {TARGET_READ_RATIO}",
             verdict(r["ratio"] >= TARGET_READ_RATIO)),
            ("GET party p50 (ms)", f"{r['full']['p50_ms']:.2f}", "", ""),
            ("GET party p95 (ms)", f"{r['full']['p95_ms']:.2f}", f"< {TARGET_READ_P95_MS:g}",
             verdict(r["full"]["p95_ms"] < TARGET_READ_P95_MS)),
            ("PATCH values/s", f"{r['patch']['values_per_s']:,.0f}", "", ""),
        ]
        for measure, value, target, result in rows:
            print(f"{backend:<11} {measure:<24} {value:>12}  {target:<12} {result}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--reads", type=int, default=5_000)
    parser.add_argument("--patches", type=int, default=2_000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=20250101)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {backend: run_backend(backend, args) for backend in backends}
    print_table(results, args.persons)
    return 0


if __name__ == "__main__":
    sys.exit(main())
