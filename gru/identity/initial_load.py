"""The initial load: a whole file into a hub that holds no party of its kind yet
(``gru import --initial-load``, issue 6, "Bulk import").

The batch import (:class:`gru.identity.importing.Importer`) matches each batch against
the hub through its search index, and keeps that index, the values' indexes and their
foreign keys up to date row by row: right for a file of changes into a hub in service,
and the most of its time when the hub is empty and the file is its whole population
(700 to 1,300 lines/s on a 2-core host, falling as the hub grows). An initial load does
the same work in another order, in one transaction:

1. every line is checked alone, as in the batch import (a bad one is reported with its
   number and changes nothing);
2. the valid lines are matched with each other in memory
   (:func:`gru.identity.search.whole_file.match_whole_file`): there is nobody in the hub
   to match against, and each line finds the earlier lines the batch import would
   have found through the index;
3. the lines linked to an earlier line's party are recorded on it by the usual
   survivorship before it is written
   (:func:`gru.identity.services.parties.create_recorded_parties`), so that each party is
   written once, with its final golden values and search rows;
4. the parties are written with the indexes and constraints of the tables they fill
   suspended (:func:`gru.bulk_sql.indexes_suspended`), then built once; their alias keys
   (:mod:`gru.identity.search.vocabulary`) are those of the whole file's counts; the
   possible pairs are queued for review.

The outcomes are those of the batch import (created, linked, queued for review, error;
cross-references, history, access journal, ``party.created`` and ``party.updated``
events alike). The caller commits once: an interrupted load leaves the hub as it was,
empty, and is started again; files that come after it go through the batch import.
"""

import contextlib
import gc
import os

from flask import current_app
from sqlalchemy import exists, select

from gru.bulk_sql import indexes_suspended
from gru.errors import Conflict
from gru.extensions import db
from gru.identity.importing import plan_lines
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, Party
from gru.identity.search.index import profile_of
from gru.identity.search.models import PartySearchEntry, PartySearchToken
from gru.identity.search.whole_file import match_whole_file

#: lines checked, and parties written, a step (the progress callback is called after each)
STEP = 10000
#: the tables whose indexes and constraints wait for the end of the creations: those
#: holding several rows a party (the parties' own table keeps its keys, which the
#: other tables' foreign keys rely on)
SUSPENDED = (AttributeValue.__table__, GoldenValue.__table__, CrossReference.__table__,
             PartySearchToken.__table__, PartySearchEntry.__table__)


def check_hub_is_empty(kind, application_code):
    """409 unless the hub holds no party of ``kind`` and no cross-reference of the
    application: an initial load matches its lines with each other only."""
    if db.session.scalar(select(exists().where(Party.kind == kind))):
        raise Conflict(f"The hub holds parties of kind {kind!r} already: an initial load is for an empty hub; "
                       "import without --initial-load.")
    if db.session.scalar(select(exists().where(CrossReference.application_code == application_code))):
        raise Conflict(f"The application {application_code!r} has cross-references already: an initial load "
                       "is for its first file; import without --initial-load.")


def load(importer, lines, progress=None):
    """Import every line of ``lines`` (``(line number, row or error)``) with ``importer``'s
    mapping, actor and provenance; returns the outcomes ``[(line, outcome, party id or
    message)]``, in line order. ``progress(count)`` is told of each step of lines
    checked, then of lines written. Never commits."""
    progress = progress or (lambda _count: None)
    kind = importer.mapping.kind
    check_hub_is_empty(kind, importer.actor.id)
    with _kept_out_of_collection() as keep:
        outcomes, valid, step, seen = [], [], [], set()
        for line in lines:
            step.append(line)
            if len(step) == STEP:
                valid += importer.valid_lines(step, outcomes, seen)
                keep()
                progress(len(step))
                step = []
        valid += importer.valid_lines(step, outcomes, seen)
        progress(len(step))
        profiles = [profile_of(kind, values) for _n, _l, _c, values in valid]
        matched, aliases, tokens = match_whole_file(kind, profiles, import_processes())
        creations, links, pairs = plan_lines(valid, profiles, [()] * len(valid), matched)
        # the search tokens the matching made, by line, for the index (18 us a party, 15 s at 1,000,000)
        tokens_of_line = dict(zip((number for number, *_rest in valid), tokens)) if tokens else {}
        del valid, profiles, matched, tokens
        keep()
        queued = {first[1] for first, _other in pairs}
        # each linked line is recorded on its party before the party is written: no
        # update of rows just written, nor of their search index (measured at 1,000,000
        # lines: 132,030 links updated after the index build, ~180 s and 16 s of vacuum
        # after the commit; recorded in memory, the end of the load took 63 s and 5 s)
        links_of_step = [[] for _start in range(0, len(creations), STEP)]
        for link in links:
            links_of_step[link[3][1] // STEP].append((*link[:3], ("new", link[3][1] % STEP)))
        del links
        created = []
        with indexes_suspended(db.session.connection(), SUSPENDED):
            for start, step_links in zip(range(0, len(creations), STEP), links_of_step):
                chunk = creations[start:start + STEP]
                created += importer.create(chunk, [start + offset in queued for offset in range(len(chunk))],
                                           outcomes, aliases, step_links,
                                           [tokens_of_line.pop(number, None) for number, *_rest in chunk])
                keep()
                progress(len(chunk) + len(step_links))
        new_pks = [pk for pk, _party_id in created]
        importer.queue(pairs, new_pks)
    outcomes.sort(key=lambda outcome: outcome[0])
    return outcomes


#: the forks of the matching by default, at most: each copies the memory pages it
#: touches (measured: about 2.4 GB each for 1,002,323 lines), and the matching's set-up,
#: before them, stays in one process
MAX_DEFAULT_PROCESSES = 4


def import_processes():
    """``GRU_IMPORT_PROCESSES``, by default the CPUs this process may run on, at most
    :data:`MAX_DEFAULT_PROCESSES`."""
    configured = current_app.config.get("GRU_IMPORT_PROCESSES")
    return configured if configured else min(MAX_DEFAULT_PROCESSES, len(os.sched_getaffinity(0)))


@contextlib.contextmanager
def _kept_out_of_collection():
    """A function that puts every object alive out of the garbage collector's reach
    until the end of the block. The lines checked, the plan and the outcomes live until
    the end of the load, millions of objects, and each full collection that the work
    sets off would walk them all: checking 1,000,000 lines took 84 s without it, 46 s
    with it."""
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
