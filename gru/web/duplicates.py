"""Duplicate review pages: suspected pairs side by side, "pas un doublon", merge and its
undoing for supervisors (issue 6). Each view loads, calls one service, journals what it shows through
:mod:`gru.rest.access` (as the API does), commits once and renders."""

from flask import g, redirect, render_template, request, url_for

from gru.extensions import db
from gru.identity.search import disclosure, duplicates, merge, unmerge
from gru.rest import access
from gru.web import forms
from gru.web.blueprint import blp, message_page, requires
from gru.web.desk import open_desk, purpose_missing

DESK_ROLES = ("agent", "supervisor")
AGREEMENTS = {"exact": "identique", "similar": "proche", "first": "même premier prénom", "partial": "partielle",
              "different": "différent", "missing": "absent", "compatible": "compatible (partie inconnue)",
              "typo": "faute de frappe probable", "swapped": "nom et prénoms inversés",
              "shared": "même numéro, autre personne du foyer ?", "street": "même rue",
              "locality": "même commune", "household": "même foyer"}


def _page(template, contract, **context):
    return render_template(template, contract=contract, purpose=g.purpose, case_ref=g.case_ref,
                           agreements=AGREEMENTS, labels=forms.labels(), **context)


def _reviewer():
    return f"agent:{g.agent.login}"


@blp.get("/doublons")
@requires(*DESK_ROLES)
def duplicate_list():
    """Open suspicions, oldest first, with both parties' names."""
    contract = open_desk()
    if purpose_missing():
        return _page("duplicates.html", contract, items=None)
    kinds = set(contract.party_kinds)
    items = []
    for suspicion in duplicates.list_suspicions("open", limit=100):
        parties = duplicates.parties_of(suspicion)
        if all(party.kind in kinds for party in parties):
            items.append({"suspicion": suspicion, "parties": access.visible_records(parties)})
    access.journal("identity:duplicate:list", [(party["id"], access.disclosed_keys(party))
                                               for item in items for party in item["parties"]])
    db.session.commit()
    return _page("duplicates.html", contract, items=items)


@blp.get("/doublons/<uuid:suspicion_id>")
@requires(*DESK_ROLES)
def duplicate(suspicion_id):
    """Both parties side by side, the comparison field by field, the actions."""
    contract = open_desk()
    if purpose_missing():
        return _page("duplicates.html", contract, items=None)
    suspicion = duplicates.get_suspicion(suspicion_id)
    parties = duplicates.parties_of(suspicion)
    for party in parties:
        access.check_kind(party.kind)
    documents = access.visible_records(parties)
    access.journal("identity:duplicate:read", [(party["id"], access.disclosed_keys(party)) for party in documents])
    db.session.commit()
    keys = list(dict.fromkeys(key for party in documents for key in party["attributes"]))
    return _page("duplicate.html", contract, suspicion=suspicion, parties=documents, keys=keys,
                 is_supervisor=g.agent.role == "supervisor")


@blp.post("/doublons/<uuid:suspicion_id>/revue")
@requires(*DESK_ROLES)
def review(suspicion_id):
    """Take the pair for review (locked for the others for 15 minutes)."""
    open_desk()
    duplicates.start_review(suspicion_id, _reviewer())
    db.session.commit()
    return redirect(url_for("web.duplicate", suspicion_id=suspicion_id))


@blp.post("/doublons/<uuid:suspicion_id>/decision")
@requires(*DESK_ROLES)
def not_duplicate(suspicion_id):
    """Pas un doublon: remembered, never proposed again."""
    open_desk()
    suspicion = duplicates.decide_not_duplicate(suspicion_id, _reviewer())
    access.journal("identity:duplicate:decide", [(party.id, []) for party in duplicates.parties_of(suspicion)])
    db.session.commit()
    return message_page(200, "Les deux fiches sont enregistrées comme deux personnes distinctes ; "
                             "elles ne seront plus proposées comme doublon.", title="Décision enregistrée")


@blp.post("/doublons/<uuid:suspicion_id>/fusion")
@requires("supervisor")
def merge_pair(suspicion_id):
    """Merge the other party into the one chosen as survivor (supervisors)."""
    open_desk()
    suspicion = duplicates.get_suspicion(suspicion_id)
    parties = {str(party.id): party for party in duplicates.parties_of(suspicion)}
    survivor_id = request.form.get("survivant", "")
    if survivor_id not in parties:
        return message_page(422, "Choisissez la fiche conservée parmi les deux.")
    merged_id = next(party_id for party_id in parties if party_id != survivor_id)
    record = merge.merge(parties[survivor_id].id, parties[merged_id].id, access.current_actor(),
                         suspicion_id=suspicion.id)
    disclosure.journal_merge("identity:party:merge", merge.merge_document(record))
    db.session.commit()
    return redirect(url_for("web.merge_record", merge_id=record.id))


#: what the merge record's counts and the unmerge report name, in French
MOVED_LABELS = {"attribute_values": "valeurs", "links_person": "liens (personne)", "links_target": "liens (cible)",
                "links": "liens", "identifiers": "identifiants", "cross_references": "références d'applications",
                "documents": "justificatifs", "document_reuses": "réutilisations de justificatifs",
                "consents": "consentements"}


@blp.get("/fusions/<uuid:merge_id>")
@requires(*DESK_ROLES)
def merge_record(merge_id):
    """A merge: both parties, what moved, and once undone what was placed where."""
    contract = open_desk()
    record = merge.get_merge(merge_id)
    document = merge.merge_document(record)
    disclosure.journal_merge("identity:merge:read", document)
    db.session.commit()
    return _page("merge.html", contract, merge=document, moved_labels=MOVED_LABELS,
                 is_supervisor=g.agent.role == "supervisor")


@blp.post("/fusions/<uuid:merge_id>/annulation")
@requires("supervisor")
def unmerge_record(merge_id):
    """Annuler la fusion (supervisors): both parties as they were."""
    open_desk()
    document = merge.merge_document(unmerge.unmerge(merge_id, access.current_actor()))
    disclosure.journal_merge("identity:party:unmerge", document)
    db.session.commit()
    return redirect(url_for("web.merge_record", merge_id=merge_id))
