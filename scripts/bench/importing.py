"""Benchmark: bulk import with matching (issue 6, "Bulk import").

Prints for each backend:

    import: ``--persons`` generated records (10 % with duplicates) imported into an empty
            hub through the importer of ``gru import`` (validation, bulk matching against
            the hub and the batch, creation, cross-references, journal), ``--batch``
            lines a transaction (default 2,000, as ``gru import``): records/s and the
            extrapolated time for 1,000,000 (target: 1,000,000 in under 5 minutes on
            PostgreSQL; ``--persons 850000`` makes about a million lines); with
            ``--initial-load``, the whole file at once as ``gru import --initial-load``
            (where it is every 100,000 lines, then the time of the vacuum after it)
    truth:  pairwise precision and recall of "these two lines were made one party"
            against the generator's clusters (which lines are one person)
    match:  1,000 new records (half of them variants of persons already there) matched
            against the base in one call of ``match_many`` (target: under 1 s against
            1,000,000)

    PYTHONPATH=. .venv/bin/python scripts/bench/importing.py [--persons 100000] [--batch 2000]
        [--minutes M] [--initial-load] [--backend sqlite|postgresql|both] [--postgres-url URL]
        [--match-against NAME] [--keep-database gru_bench_NAME]

``--minutes 5`` stops the import after five minutes (how many lines fit in the target's
time), then measures the matching against what was imported.

``--match-against NAME`` skips the import and measures only the matching, against a
base kept by another benchmark (``search.py --keep-database gru_bench_search_1m
--persons 1000000`` keeps 1,000,000 persons): the variants are made from 500 persons
drawn from that base. ``--keep-database gru_bench_NAME`` (PostgreSQL) keeps the hub an
import made, its vocabulary holding the typos of the file, for ``--match-against NAME``.
"""

import argparse
import gc
import sys
import time
from collections import Counter

from sqlalchemy import text

sys.path.insert(0, "scripts/bench")

from core import DEFAULT_POSTGRES_URL, Instance, is_kept_name  # noqa: E402
from population import Population  # noqa: E402

from gru.auth.contracts import full_access_document, set_contract  # noqa: E402
from gru.auth.services import register_application  # noqa: E402
from gru.extensions import db  # noqa: E402
from gru.bulk_sql import vacuum  # noqa: E402
from gru.identity.importing import WRITTEN, Importer, Mapping  # noqa: E402
from gru.identity.initial_load import load  # noqa: E402
from gru.identity.search.bulk import match_many  # noqa: E402

BATCH = 2000
COLUMNS = ("family_name", "usage_name", "given_names", "birth_date", "sex", "birth_place", "email")


def run(backend, arguments):
    instance = Instance(backend, arguments.postgres_url, name=arguments.keep_database)
    try:
        app = instance.app
        population = Population(seed=13)
        rows = population.generate(arguments.persons)
        # as gru import does before its batches (the app's objects out of the collector's
        # reach); the population too, which lives here and not in gru import (it reads its file)
        gc.freeze()
        with app.app_context():
            register_application("cafat", "CAFAT")
            catalogue = app.extensions["gru.catalogue"]
            set_contract("cafat", full_access_document(catalogue, purposes=["import"]), catalogue, author="bench")
            db.session.commit()
            importer = Importer(Mapping("person", "id", {key: key for key in COLUMNS}), "cafat")
            started = time.perf_counter()
            if arguments.initial_load:
                outcomes = load(importer, ((index + 1, {"id": f"L{index}", **record})
                                           for index, (_cluster, record) in enumerate(rows)),
                                progress=Progress(len(rows), started))
                db.session.commit()
                committed = time.perf_counter()
                vacuum(db.engine, WRITTEN)  # as gru import --initial-load does after its commit
                print(f"  written in {committed - started:.1f} s, vacuumed in {time.perf_counter() - committed:.1f} s")
            else:
                outcomes = import_by_batches(importer, rows, arguments, started)
            elapsed = time.perf_counter() - started
            report = importer.report.as_dict()
            precision, recall = pairwise_quality(rows, outcomes)
            print(f"  lines made one party: precision {precision:.4f}, recall {recall:.4f} "
                  "(pairs of lines of one person)", flush=True)
            db.session.remove()
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            base = [record for _cluster, record in rows[:report["lines"]]]  # those imported
            match_elapsed, found = timed_match(population, base)
        gc.unfreeze()
        return report["lines"], elapsed, report, match_elapsed, found
    finally:
        instance.close()


class Progress:
    """The initial load's progress callback: where it is every 100,000 lines."""

    def __init__(self, lines, started):
        self.lines, self.started, self.count = lines, started, 0

    def __call__(self, count):
        before, self.count = self.count, self.count + count
        if before // 100_000 != self.count // 100_000 or self.count == self.lines:
            checked = min(self.count, self.lines)
            print(f"  ... {time.perf_counter() - self.started:6.1f} s: {checked:,} lines checked"
                  + (f", {self.count - self.lines:,} written" if self.count > self.lines else ""), flush=True)


def import_by_batches(importer, rows, arguments, started):
    size, deadline = arguments.batch, started + 60 * arguments.minutes if arguments.minutes else None
    outcomes = []
    for start in range(0, len(rows), size):
        if deadline and time.perf_counter() > deadline:
            print(f"  stopped after {arguments.minutes:g} min (--minutes)", flush=True)
            break
        batch = [(start + offset + 1, {"id": f"L{start + offset}", **record})
                 for offset, (_cluster, record) in enumerate(rows[start:start + size])]
        outcomes += importer.run_batch(batch)
        db.session.commit()
        if (start // size) % max(1, 20_000 // size) == 0 and start:
            print(f"  ... {start + size:,} lines, {(start + size) / (time.perf_counter() - started):,.0f}/s", flush=True)
    return outcomes


def pairwise_quality(rows, outcomes):
    """``(precision, recall)`` of "these two lines are one party" against the generator's
    truth ("these two lines are one person"), over the lines imported without error."""
    party_of = {number: party for number, outcome, party in outcomes if outcome != "error"}
    same_party, same_person, both = Counter(), Counter(), Counter()
    for number, party in party_of.items():
        cluster = rows[number - 1][0]
        same_party[party] += 1
        same_person[cluster] += 1
        both[(party, cluster)] += 1

    def pairs(counter):
        return sum(count * (count - 1) // 2 for count in counter.values())

    true_pairs = pairs(both)
    return true_pairs / max(1, pairs(same_party)), true_pairs / max(1, pairs(same_person))


def timed_match(population, base):
    """``(seconds, variants that found a candidate)`` of 1,000 new records, half of them
    variants of ``base`` records, matched in one call (after a warm-up of 100)."""
    fresh = [population.variant(population.random.choice(base)) if index % 2 else population.person()
             for index in range(1000)]
    match_many("person", fresh[:100])  # warm-up
    started = time.perf_counter()
    results = match_many("person", fresh)
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for index, result in enumerate(results) if index % 2 and result)


def match_against(arguments):
    """Only the matching, against a kept base (``--match-against``)."""
    from sqlalchemy import func, select

    from gru.identity.models import AttributeValue, GoldenValue, Party

    instance = Instance("postgresql", arguments.postgres_url, name=arguments.match_against, reuse=True)
    try:
        with instance.app.app_context():
            count = db.session.scalar(select(func.count()).select_from(Party).where(Party.kind == "person"))
            pks = list(db.session.scalars(select(Party.pk).where(Party.kind == "person").order_by(func.random()).limit(500)))
            records = {pk: {} for pk in pks}
            for party_pk, key, value in db.session.execute(
                    select(GoldenValue.party_pk, GoldenValue.attribute_key, AttributeValue.value)
                    .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk).where(GoldenValue.party_pk.in_(pks))):
                if key in COLUMNS and value is not None:
                    records[party_pk][key] = value
            elapsed, found = timed_match(Population(seed=29), list(records.values()))
        print(f"postgresql: 1,000 new records matched against {count:,} in {elapsed * 1000:.0f} ms "
              f"(target < 1 s against 1,000,000); {found} of the 500 variants found a candidate")
    finally:
        instance.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=BATCH, help="lines a transaction")
    parser.add_argument("--initial-load", action="store_true",
                        help="import as gru import --initial-load: the whole file in memory, one transaction")
    parser.add_argument("--minutes", type=float, help="stop the import after this time, then match against what is in")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--match-against", metavar="NAME",
                        help="only the matching, against the kept PostgreSQL base NAME (gru_bench_...)")
    parser.add_argument("--keep-database", metavar="NAME",
                        help="keep the hub imported into as NAME (gru_bench_..., with --backend postgresql)")
    arguments = parser.parse_args()
    if arguments.keep_database and (arguments.backend != "postgresql" or not is_kept_name(arguments.keep_database)):
        parser.error("--keep-database needs --backend postgresql and a name gru_bench_[a-z0-9_]+")
    if arguments.match_against:
        return match_against(arguments)
    backends = ("sqlite", "postgresql") if arguments.backend == "both" else (arguments.backend,)
    for backend in backends:
        lines, elapsed, report, match_elapsed, found = run(backend, arguments)
        rate = lines / elapsed
        print(f"{backend}: imported {lines:,} lines in {elapsed:.1f} s ({rate:,.0f}/s): {report}; "
              f"1,000,000 would take about {1_000_000 / rate / 60:.0f} min (target 5)")
        print(f"  1,000 new records matched against {report['created']:,} in {match_elapsed * 1000:.0f} ms "
              f"(target < 1 s against 1,000,000); {found} of the 500 variants found a candidate")


if __name__ == "__main__":
    main()
