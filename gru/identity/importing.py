"""Bulk import of an application's records without creating duplicates (issue 6, "Bulk import").

A file (CSV with a header line, or JSON lines) and a mapping file::

    {"kind": "person", "local_id": "dossier", "delimiter": ";",
     "birth_date_format": "%d/%m/%Y",
     "columns": {"nom": "family_name", "nom_usage": "usage_name", "prenoms": "given_names",
                 "date_naissance": "birth_date", "sexe": "sex", "courriel": "email"}}

Each line is validated alone (a bad line is reported with its number and changes
nothing), then matched against the hub and the lines before it: a certain match becomes
a cross-reference to the existing party (``linked``), a possible one a new party queued
for review, none a new party. Every line leaves a cross-reference (application, local
id), so a rerun after an interruption skips the lines already imported (``skipped``):
the import is resumable batch by batch, each batch committed by the caller.
"""

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gru.audit.journal import record_accesses
from gru.auth.contracts import contract_view, current_contract
from gru.auth.services import get_application
from gru.errors import Forbidden, GruError, ValidationFailed
from gru.extensions import db
from gru.identity import matching
from gru.identity.catalogue import PARTY_KINDS
from gru.identity.models import CrossReference, HistoryEntry, Party, utcnow
from gru.identity.search.bulk import match_many
from gru.bulk_sql import insert_rows
from gru.identity.search.index import profile_of
from gru.identity.search.models import DuplicateSuspicion
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_parties
from gru.identity.services.values import check_attributes

_XREFS = CrossReference.__table__


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
    errors: list = field(default_factory=list)  # (line number, message)
    lines: int = 0

    def as_dict(self):
        return {"lines": self.lines, "created": self.created, "linked": self.linked,
                "queued_for_review": self.queued_for_review, "skipped": self.skipped, "errors": len(self.errors)}


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
        kind, outcomes, seen = self.mapping.kind, [], set()
        known = self._known_local_ids(lines)
        valid = []  # (line, local id, attributes, checked values)
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
                attributes = self._attributes(row)
                checked, _ = check_attributes(kind, attributes, self.provenance, self.actor)
            except GruError as error:
                self._error(outcomes, number, _message(error))
                continue
            seen.add(local_id)
            valid.append((number, local_id, attributes,
                          {item.key: item.value for item in checked if item.value is not None}))
        matches = match_many(kind, [values for _n, _l, _a, values in valid], limit=3)
        to_create, to_link, batch_profiles = [], [], {}
        for (number, local_id, attributes, values), results in zip(valid, matches):
            profile = profile_of(kind, values)
            block = batch_profiles.setdefault(_block_key(kind, profile), [])
            in_batch = next((index for index, other in block
                             if matching.compare(kind, profile, other).decision == "match"), None)
            if in_batch is not None:  # the same person earlier in this batch
                to_create[in_batch][3].append(local_id)
                self.report.linked += 1
                outcomes.append((number, "linked", None))
                continue
            if results and results[0][1].decision == "match":
                to_link.append((number, local_id, results[0][0]))
                continue
            block.append((len(to_create), profile))
            to_create.append((number, attributes, [pk for pk, _comparison in results], [local_id]))
        self._write(to_create, to_link, outcomes)
        return outcomes

    def _known_local_ids(self, lines):
        ids = [str(row.get(self.mapping.local_id) or "").strip() for _n, row in lines if isinstance(row, dict)]
        rows = db.session.execute(
            select(CrossReference.local_id, Party.id).join(Party, Party.pk == CrossReference.party_pk)
            .where(CrossReference.application_code == self.actor.id, CrossReference.local_id.in_(ids))
        ).all() if ids else []
        return {local_id: str(party_id) for local_id, party_id in rows}

    def _write(self, to_create, to_link, outcomes):
        created = create_parties(self.mapping.kind, [item[1] for item in to_create], self.provenance, self.actor)
        ids = [party_id for party_id, _ in created]
        pks = dict(db.session.execute(select(Party.id, Party.pk).where(Party.id.in_(ids))).all()) if ids else {}
        xrefs, suspicions, journal = [], [], []
        now = utcnow()
        for (number, _attributes, candidates, local_ids), party_id in zip(to_create, ids):
            pk = pks[party_id]
            xrefs.extend({"party_pk": pk, "application_code": self.actor.id, "local_id": local_id,
                          "created_at": now} for local_id in local_ids)
            for other in candidates:
                first, second = sorted((pk, other))
                suspicions.append({"party_a_pk": first, "party_b_pk": second, "origin": "import"})
            self.report.created += 1
            if candidates:
                self.report.queued_for_review += 1
            outcomes.append((number, "queued_for_review" if candidates else "created", str(party_id)))
            journal.append((party_id, "identity:party:import"))
        linked_pks = {pk for _n, _l, pk in to_link}
        linked_ids = dict(db.session.execute(select(Party.pk, Party.id).where(Party.pk.in_(linked_pks))).all()) \
            if linked_pks else {}
        history = []
        for number, local_id, pk in to_link:
            xrefs.append({"party_pk": pk, "application_code": self.actor.id, "local_id": local_id, "created_at": now})
            history.append({"party_pk": pk, "subject": "xref", "subject_key": self.actor.id, "action": "added",
                            "old_value": None, "new_value": local_id, "channel": self.provenance.channel,
                            "author_type": self.actor.type, "author_id": self.actor.id, "recorded_at": now})
            self.report.linked += 1
            outcomes.append((number, "linked", str(linked_ids[pk])))
            journal.append((linked_ids[pk], "identity:xref:import"))
        connection = db.session.connection()
        insert_rows(connection, _XREFS, xrefs)
        insert_rows(connection, HistoryEntry.__table__, history)
        self._queue(suspicions)
        record_accesses(db.session, [{
            "actor_type": self.actor.type, "actor_id": self.actor.id, "action": action, "party_id": str(party_id),
            "attribute_keys": sorted(self.mapping.columns.values()) if action.endswith("party:import") else [],
            "purpose": self.purpose} for party_id, action in journal])

    def _queue(self, suspicions):
        """Pairs for review, with the comparison of the two golden profiles."""
        from gru.identity.search.models import PartySearchEntry

        for item in suspicions:
            entries = db.session.scalars(select(PartySearchEntry).where(
                PartySearchEntry.party_pk.in_((item["party_a_pk"], item["party_b_pk"])))).all()
            if len(entries) != 2:
                continue
            comparison = matching.compare(entries[0].kind, entries[0].profile, entries[1].profile)
            db.session.add(DuplicateSuspicion(**item, score=comparison.score, decision=comparison.decision,
                                              explanation=comparison.explanation, status="open"))
        db.session.flush()

    def _error(self, outcomes, number, message):
        self.report.errors.append((number, message))
        outcomes.append((number, "error", message))


def _block_key(kind, profile):
    """Lines of one batch are compared with those of the same birth date (or name)."""
    return profile.get("birth_date") if kind == "person" else (profile.get("name") or "")[:4]


def _message(error):
    details = getattr(error, "errors", None)
    if details:
        return "; ".join(f"{name.removeprefix('attributes.')}: {' '.join(map(str, messages))}"
                         for name, messages in details.items())
    return error.detail
