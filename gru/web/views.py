"""Record, journal and administration pages. Each view loads, calls services, journals what
it shows through :mod:`gru.rest.access` (as the API does), commits once and renders."""

from flask import current_app, g, render_template, request

from gru.consent.desk import party_consents
from gru.errors import PreconditionFailed, ValidationFailed
from gru.extensions import db
from gru.identity.search import service as search_service
from gru.identity.services import history as history_service
from gru.identity.services import links as link_service
from gru.identity.services import parties as party_service
from gru.identity.services.context import make_provenance
from gru.identity.services.records import read_records
from gru.rest import access
from gru.web import forms
from gru.web.blueprint import blp, message_page, requires
from gru.web.desk import open_desk, purpose_missing
from gru.web.services import applications_with_contracts, recent_journal_entries

DESK_ROLES = ("agent", "supervisor")
SEARCH_LIMIT = 50


def _page(template, contract, **context):
    return render_template(template, contract=contract, purpose=g.purpose, case_ref=g.case_ref, **context)


@blp.get("/personnes")
@requires(*DESK_ROLES)
def search():
    """Persons by any of their names, despite typos (the desk contract must allow searching on them)."""
    contract = open_desk()
    name = request.args.get("nom", "").strip()
    if not name or purpose_missing():
        return _page("search.html", contract, name=name, items=None)
    access.check_kind("person")
    birth_date = request.args.get("naissance", "").strip() or None
    fields = search_service.searchable_fields(contract, "person")
    if not fields:
        access.check_searchable(["family_name"])
    if birth_date:
        access.check_searchable(["birth_date"])
    try:  # issue 6: typo-tolerant search on every name, the birth date raising the score
        hits = search_service.search(name, fields=fields, kinds=["person"], birth_date=birth_date, limit=SEARCH_LIMIT)
    except ValidationFailed as error:
        return _page("search.html", contract, name=name, birth_date=birth_date, items=None,
                     error=forms.first_error(error)), 422
    items = [access.visible_party(record.document) for record in read_records([hit.party_pk for hit in hits])]
    access.journal("identity:party:search", [(item["id"], access.disclosed_keys(item)) for item in items])
    db.session.commit()
    return _page("search.html", contract, name=name, birth_date=birth_date, items=items)


@blp.get("/parties/<uuid:party_id>")
@requires(*DESK_ROLES)
def party(party_id):
    """The golden record with level and provenance, its links, its consents and its history."""
    contract = open_desk()
    if purpose_missing():
        return _page("search.html", contract, name="", items=None)
    return render_party(contract, party_id)


def render_party(contract, party_id, consent_error=None, status=200):
    """The party page, journaled (record, history, links, consents) and committed."""
    record = party_service.get_party(party_id)
    document = access.visible_record(record)
    entries = access.visible_history(history_service.party_history(record))
    links = access.visible_links(link_service.links_of(record))
    consents, consent_disclosures = party_consents(record)
    history_keys = access.history_keys(entries)
    access.journal_all(
        [("identity:party:read", record.id, access.disclosed_keys(document)),
         ("identity:party:history", record.id, history_keys)]
        + (access.link_disclosures(record, links) if links else [])
        + consent_disclosures
    )
    db.session.commit()
    return _page(
        "party.html", contract, party=document, history=list(reversed(entries)), links=links,
        labels=forms.labels(), processes=forms.process_labels(), consents=consents, consent_error=consent_error,
        channel_labels=forms.CHANNEL_LABELS, channels=forms.choices()["channels"],
    ), status


@blp.route("/parties/<uuid:party_id>/modifier", methods=["GET", "POST"])
@requires(*DESK_ROLES)
def edit(party_id):
    """GET: the form, with the record's ETag in a hidden field. POST: the API's PATCH."""
    contract = open_desk()
    if purpose_missing():
        return _page("search.html", contract, name="", items=None)
    record = party_service.get_party(party_id)
    document = access.visible_record(record)
    fields = forms.editable_fields(record.kind, contract, document["attributes"])
    if request.method == "GET":
        access.journal("identity:party:read", [(record.id, access.disclosed_keys(document))])
        db.session.commit()
        return _page("edit.html", contract, party=document, fields=fields, etag=record.etag, **forms.choices())
    attributes = forms.submitted_attributes(fields, request.form)
    if not attributes:
        return _page("edit.html", contract, party=document, fields=fields, etag=request.form.get("etag", ""),
                     notice="Aucune modification à enregistrer.", **forms.choices())
    try:
        provenance = make_provenance(request.form.get("canal", ""), request.form.get("processus", ""))
        updated, outcomes = party_service.update_party(
            party_id, request.form.get("etag"), attributes, provenance, access.current_actor()
        )
    except PreconditionFailed:
        db.session.rollback()
        return message_page(
            412, "La fiche a changé entre-temps : un autre agent ou une application l'a modifiée depuis "
                 "que vous l'avez ouverte. Rouvrez la fiche et refaites la modification.",
        )
    except ValidationFailed as error:
        db.session.rollback()
        outcomes = forms.outcomes_of_failure(error)
        return _page("edit.html", contract, party=document, fields=fields, etag=request.form.get("etag", ""),
                     outcomes=outcomes, error=forms.first_error(error), **forms.choices()), 422
    after = access.visible_record(updated)
    access.journal_all(access.write_disclosures("identity:party:update", updated, outcomes, after))
    db.session.commit()
    return _page(
        "result.html", contract, party=after, outcomes=forms.french_outcomes(outcomes, after), labels=forms.labels(),
        processes=forms.process_labels(),
    )


@blp.get("/journal")
@requires("dpo")
def journal():
    """The last 100 entries of the access journal (keys, never values)."""
    return render_template("journal.html", entries=recent_journal_entries(), report=None)


@blp.post("/journal/verification")
@requires("dpo")
def verify_journal():
    """Check the hash chain and every seal with the hub's public keys (``gru audit verify``)."""
    from gru.audit.services import verify_now

    report = verify_now()
    return render_template("journal.html", entries=recent_journal_entries(), report=report)


@blp.get("/administration")
@requires("admin")
def administration():
    """Applications and the versions of their contracts: no personal data."""
    return render_template(
        "administration.html",
        applications=applications_with_contracts(),
        desk_code=current_app.config["GRU_DESK_APPLICATION"],
    )
