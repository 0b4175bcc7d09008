"""Bulk import of an application's records without creating duplicates (issue 6, "Bulk import").

A file (CSV with a header line, or JSON lines) and a mapping file::

    {"kind": "person", "local_id": "dossier", "delimiter": ";",
     "birth_date_format": "%d/%m/%Y",
     "columns": {"nom": "family_name", "nom_usage": "usage_name", "prenoms": "given_names",
                 "date_naissance": "birth_date", "sexe": "sex", "courriel": "email"}}

Each line is validated alone (a bad line is reported with its number and changes
nothing), then matched (:mod:`gru.identity.matching`) against the hub and the lines
before it in the file: a certain match links the line to that party (``linked``: its
cross-reference, and its values recorded on the party by the usual survivorship, so
that nothing the application knew is lost), a possible one makes a new party queued for
review with each candidate, none a new party. Lines of earlier batches are in the
search index already; those of the same batch are compared with each other
(:func:`gru.identity.search.bulk.match_within`), so that two lines for one person make
one party. Every line leaves a cross-reference (application, local id), so a rerun after
an interruption skips the lines already imported (``skipped``): the import is resumable
batch by batch, each batch committed by the caller.
"""

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gru.audit.journal import record_accesses
from gru.auth.contracts import contract_view, current_contract
from gru.auth.services import get_application
from gru.bulk_sql import analyse, insert_rows, planned_rows
from gru.errors import Forbidden, GruError, ValidationFailed
from gru.extensions import db
from gru.identity.catalogue import PARTY_KINDS
from gru.identity.models import AttributeValue, CrossReference, GoldenValue, HistoryEntry, Party, utcnow
from gru.identity.search.bulk import match_many, match_within
from gru.identity.search.duplicates import store_pairs
from gru.identity.search.index import profile_of
from gru.identity.search.models import PartySearchEntry, PartySearchToken, SearchTerm, SearchTermKey
from gru.identity.search.sql import among
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_recorded_parties, update_parties
from gru.identity.services.values import UNCHANGED, check_attributes

_XREFS = CrossReference.__table__
#: the tables an import fills, analysed again as they grow (:meth:`Importer._analyse_now_and_then`)
WRITTEN = (Party.__table__, AttributeValue.__table__, GoldenValue.__table__, _XREFS, PartySearchEntry.__table__,
            PartySearchToken.__table__, SearchTermKey.__table__, SearchTerm.__table__)


@dataclass
class Mapping:
    kind: str
    local_id: str
    columns: dict
    delimiter: str = ","
    birth_date_format: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    linked: int = 0
    queued_for_review: int = 0
    skipped: int = 0
    #: values the linked lines added to their party (new, or kept in history below its level)
    values_recorded: int = 0
    errors: list = field(default_factory=list)  # (line number, message)
    lines: int = 0

    def as_dict(self):
        return {"lines": self.lines, "created": self.created, "linked": self.linked,
                "queued_for_review": self.queued_for_review, "values_recorded": self.values_recorded,
                "skipped": self.skipped, "errors": len(self.errors)}


def load_mapping(document, catalogue):
    """Check a mapping document; returns a :class:`Mapping` (422 naming what is wrong)."""
    errors = {}
    if not isinstance(document, dict):
        raise ValidationFailed({"mapping": ["A JSON object."]})
    kind = document.get("kind", "person")
    if kind not in PARTY_KINDS:
        errors["kind"] = [f"One of {', '.join(PARTY_KINDS)}."]
    columns = document.get("columns")
    if not isinstance(columns, dict) or not columns:
        errors["columns"] = ["An object: column -> attribute key."]
    else:
        for column, key in columns.items():
            if key not in catalogue or kind not in catalogue.get(key).kinds:
                errors[f"columns.{column}"] = [f"{key!r} is not an attribute of a {kind}."]
    if not isinstance(document.get("local_id"), str):
        errors["local_id"] = ["The column holding the application's own id (cross-reference)."]
    if errors:
        raise ValidationFailed(errors, detail="The mapping is invalid.")
    return Mapping(kind, document["local_id"], columns, document.get("delimiter", ","),
                   document.get("birth_date_format"))


def read_lines(stream, mapping, is_json_lines):
    """``(line number, row dict or error message)`` for each record of the file."""
    if is_json_lines:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                yield number, f"Not a JSON object: {error.msg}."
                continue
            yield number, row if isinstance(row, dict) else "Not a JSON object."
        return
    reader = csv.DictReader(stream, delimiter=mapping.delimiter)
    for row in reader:
        yield reader.line_num, row


def import_actor(application_code):
    """The application the records come from, with its contract's write rights."""
    application = get_application(application_code)
    contract = contract_view(current_contract(application))
    if contract is None:
        raise Forbidden("The application has no service contract: it may not import personal data.")
    return Actor(type="application", id=application.code, may_write=contract.may_write,
                 max_level=contract.max_level, party_kinds=tuple(contract.party_kinds)), contract


class Importer:
    """Import lines batch by batch; the caller commits after each :meth:`run_batch`."""

    def __init__(self, mapping, application_code, channel="import", process="declared", purpose=None):
        self.mapping = mapping
        self.actor, contract = import_actor(application_code)
        self.actor.check_kind(mapping.kind)
        self.purpose = purpose or contract.purposes[0]
        self.provenance = make_provenance(channel, process)
        self.report = ImportReport()
        # when the hub has doubled since its statistics (after the first batch in an
        # empty or never analysed one), then each time the lines imported double
        self._next_analysis = max(1, planned_rows(db.session.connection(), Party.__table__))

    def _attributes(self, row):
        attributes = {}
        for column, key in self.mapping.columns.items():
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if key == "birth_date" and self.mapping.birth_date_format and isinstance(value, str):
                try:
                    value = datetime.strptime(value.strip(), self.mapping.birth_date_format).date().isoformat()
                except ValueError:
                    raise ValidationFailed({"birth_date": [f"Not a date as {self.mapping.birth_date_format}."]}) from None
            attributes[key] = value
        return attributes

    def run_batch(self, lines):
        """Import ``[(line number, row or error)]``; returns the batch's outcomes
        ``[(line, outcome, party id or message)]``."""
        outcomes = []
        valid = self.valid_lines(lines, outcomes)  # [(line, local id, checked, values)]
        kind = self.mapping.kind
        profiles = [profile_of(kind, values) for _n, _l, _c, values in valid]
        if kind == "person":
            in_hub = match_many(kind, profiles, limit=3, are_profiles=True)
        else:
            in_hub = match_many(kind, [values for _n, _l, _c, values in valid], limit=3)
        in_batch = match_within(kind, profiles)
        creations, links, pairs = plan_lines(valid, profiles, in_hub, in_batch)
        queued = {first[1] for first, _other in pairs}
        # lines linked to a line of this batch are recorded on its party as it is created
        created = self.create(creations, [position in queued for position in range(len(creations))], outcomes,
                              links=[link for link in links if link[3][0] == "new"])
        new_pks = [pk for pk, _party_id in created]
        self.link([link for link in links if link[3][0] == "pk"], new_pks, dict(created), outcomes)
        self.queue(pairs, new_pks)
        self._analyse_now_and_then()
        outcomes.sort(key=lambda outcome: outcome[0])
        return outcomes

    def valid_lines(self, lines, outcomes, seen=None):
        """The lines that can be imported, each checked alone; the others reported.
        ``seen``: the local ids of the lines checked before, in the same file."""
        kind, seen, valid = self.mapping.kind, set() if seen is None else seen, []
        known = self._known_local_ids(lines)
        for number, row in lines:
            self.report.lines += 1
            if isinstance(row, str):
                self._error(outcomes, number, row)
                continue
            local_id = str(row.get(self.mapping.local_id) or "").strip()
            if not local_id or len(local_id) > 128:
                self._error(outcomes, number, f"No local id in column {self.mapping.local_id!r}.")
                continue
            if local_id in known:
                self.report.skipped += 1
                outcomes.append((number, "skipped", known[local_id]))
                continue
            if local_id in seen:
                self._error(outcomes, number, f"The local id {local_id!r} appears twice in the file.")
                continue
            try:
                checked = check_attributes(kind, self._attributes(row), self.provenance, self.actor)
            except GruError as error:
                self._error(outcomes, number, _message(error))
                continue
            seen.add(local_id)
            valid.append((number, local_id, checked, {item.key: item.value for item in checked[0]
                                                      if item.value is not None}))
        return valid

    def _known_local_ids(self, lines):
        """{local id: party id} of the batch's lines imported before (the unique index
        of cross-references first; the parties only for those found, usually none)."""
        ids = [str(row.get(self.mapping.local_id) or "").strip() for _n, row in lines if isinstance(row, dict)]
        found = dict(db.session.execute(
            select(CrossReference.local_id, CrossReference.party_pk)
            .where(CrossReference.application_code == self.actor.id, among(CrossReference.local_id, ids))
        ).all()) if ids else {}
        if not found:
            return {}
        party_ids = dict(db.session.execute(select(Party.pk, Party.id).where(among(Party.pk, set(found.values())))).all())
        return {local_id: str(party_ids[pk]) for local_id, pk in found.items()}

    def create(self, creations, queued, outcomes, aliases=None, links=(), tokens=None):
        """Create the parties of ``creations`` (:func:`plan_lines`) with their
        cross-references; ``queued[i]``: creation ``i`` is in a pair queued for review;
        ``aliases``: as :func:`gru.identity.search.index.index_parties`; ``links``: lines
        linked to these creations (targets ``("new", i)``, ``i`` in ``creations``), recorded
        on their party before it is written (:func:`create_recorded_parties`); ``tokens``:
        the creations' search tokens, when known (:func:`gru.identity.search.index.index_parties`).
        Returns their ``(pk, id)``, in order."""
        kind, now = self.mapping.kind, utcnow()
        created, written = create_recorded_parties(
            kind, [checked for _n, _l, checked, _p in creations], [(target[1], checked[0])
                                                                   for _n, _l, checked, target in links],
            self.provenance, self.actor, profiles=[profile for _n, _l, _c, profile in creations], aliases=aliases,
            tokens=tokens)
        xrefs, journal = [], []
        for (number, local_id, checked, _profile), (party_id, _outcomes, pk), is_queued in zip(creations, created,
                                                                                             queued):
            xrefs.append({"party_pk": pk, "application_code": self.actor.id, "local_id": local_id, "created_at": now})
            self.report.created += 1
            self.report.queued_for_review += is_queued
            outcomes.append((number, "queued_for_review" if is_queued else "created", str(party_id)))
            journal.append((party_id, "identity:party:import", [item.key for item in checked[0]]))
        insert_rows(db.session.connection(), _XREFS, xrefs)
        self._journal(journal)
        self._record_links(links, [created[target[1]][2] for _n, _l, _c, target in links],
                           {pk: party_id for party_id, _outcomes, pk in created}, written, outcomes)
        return [(pk, party_id) for party_id, _outcomes, pk in created]

    def link(self, links, new_pks, party_ids, outcomes, aliases=None):
        """Record the linked lines' values on their party by the usual survivorship, with
        their cross-references; ``new_pks``: the pks of the creations their targets
        name, ``party_ids``: {pk: id} of parties known already (others are read);
        ``aliases``: as :func:`gru.identity.search.index.index_parties`."""
        if not links:
            return
        linked_pks = [_resolve(target, new_pks) for _n, _l, _c, target in links]
        written = update_parties(self.mapping.kind, [(pk, checked[0]) for pk, (_n, _l, checked, _t)
                                                     in zip(linked_pks, links)], self.provenance, self.actor, aliases)
        missing = sorted({pk for pk in linked_pks if pk not in party_ids})  # party_ids: up to a load's million
        if missing:
            party_ids = {**party_ids, **dict(db.session.execute(
                select(Party.pk, Party.id).where(among(Party.pk, missing))).all())}
        self._record_links(links, linked_pks, party_ids, written, outcomes)

    def _record_links(self, links, linked_pks, party_ids, written, outcomes):
        """The cross-references, history, journal and outcomes of linked lines whose
        values were recorded (``written``: their outcomes)."""
        if not links:
            return
        now = utcnow()
        xrefs, history, journal = [], [], []
        for (number, local_id, _checked, _target), pk, value_outcomes in zip(links, linked_pks, written):
            xrefs.append({"party_pk": pk, "application_code": self.actor.id, "local_id": local_id, "created_at": now})
            history.append({"party_pk": pk, "subject": "xref", "subject_key": self.actor.id, "action": "added",
                            "old_value": None, "new_value": local_id, "channel": self.provenance.channel,
                            "author_type": self.actor.type, "author_id": self.actor.id, "recorded_at": now})
            recorded = [key for key, outcome in value_outcomes.items() if outcome.status != UNCHANGED]
            self.report.linked += 1
            self.report.values_recorded += len(recorded)
            outcomes.append((number, "linked", str(party_ids[pk])))
            journal.append((party_ids[pk], "identity:xref:import", recorded))
        connection = db.session.connection()
        insert_rows(connection, _XREFS, xrefs)
        insert_rows(connection, HistoryEntry.__table__, history)
        self._journal(journal)

    def queue(self, pairs, new_pks):
        """Queue the possible pairs of :func:`plan_lines` for review."""
        resolved = ((_resolve(first, new_pks), _resolve(other, new_pks), comparison)
                    for (first, other), comparison in pairs.items())
        store_pairs({tuple(sorted((first, other))): comparison for first, other, comparison in resolved
                     if first != other}, origin="import")

    def _journal(self, journal):
        record_accesses(db.session, [{
            "actor_type": self.actor.type, "actor_id": self.actor.id, "action": action, "party_id": str(party_id),
            "attribute_keys": sorted(keys), "purpose": self.purpose} for party_id, action, keys in journal])

    def _analyse_now_and_then(self):
        """PostgreSQL plans its queries from table statistics: a hub that an import is
        filling has outgrown them (autovacuum, when it runs, analyses a table after 10 %
        of changes, and not at all where it is off). So the tables the import writes are
        analysed once the lines imported reach the number of parties the statistics knew
        (after the first batch in an empty hub), and again each time the lines imported
        double: about ten times for a million lines into an empty hub, a second at most
        each. (Measured: without it, looking up the batch's cross-references took a
        sequential scan, 0.5 s a batch at 10,000 lines and growing.) A delta of 2,000
        lines into a hub of 1,000,000 analyses nothing: the statistics still hold, and
        analysing its 13-million-row search index took 5 s of the batch's 12.6 s."""
        imported = self.report.created + self.report.linked
        if imported < self._next_analysis:
            return
        self._next_analysis = 2 * imported
        analyse(db.session.connection(), WRITTEN)

    def _error(self, outcomes, number, message):
        self.report.errors.append((number, message))
        outcomes.append((number, "error", message))


def plan_lines(valid, profiles, in_hub, in_file):
    """Where each valid line goes, from its candidates in the hub (``in_hub[i]``:
    ``[(party_pk, Comparison)]``) and among the lines before it (``in_file[i]``:
    ``[(index, Comparison)]``): ``(creations, links, pairs)``. A certain match links the
    line to the best one's party; otherwise the line makes a new party, paired for review
    with each possible candidate. Targets are ``("pk", party pk)`` or ``("new", index
    of a creation)``; ``pairs``: ``{(("new", i), target): Comparison}``."""
    targets, creations, links, pairs = [], [], [], {}
    for position, (number, local_id, checked, _values) in enumerate(valid):
        candidates = [(("pk", pk), comparison) for pk, comparison in in_hub[position]]
        candidates += [(targets[other], comparison) for other, comparison in in_file[position]]
        certain = [item for item in candidates if item[1].decision == "match"]
        if certain:
            target = max(certain, key=lambda item: item[1].weight)[0]
            targets.append(target)
            links.append((number, local_id, checked, target))
            continue
        target = ("new", len(creations))
        targets.append(target)
        creations.append((number, local_id, checked, profiles[position]))
        for other, comparison in candidates:
            pairs.setdefault((target, other), comparison)
    return creations, links, pairs


def _resolve(target, new_pks):
    return new_pks[target[1]] if target[0] == "new" else target[1]


def _message(error):
    details = getattr(error, "errors", None)
    if details:
        return "; ".join(f"{name.removeprefix('attributes.')}: {' '.join(map(str, messages))}"
                         for name, messages in details.items())
    return error.detail
