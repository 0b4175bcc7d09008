"""The agents' page of a party's documents: list, download, verify or reject (in French).

Registered on the pages' blueprint (:mod:`gru.web`); agents act under the desk contract
(its ``document_types``), and every list, download and verification is journaled as
the API journals them, under the agent's login.
"""

from flask import g, render_template, request, url_for

from gru.documents import services as document_service
from gru.documents.api import content_response
from gru.documents.services import DocumentActor
from gru.documents.verification import verify_document
from gru.errors import ValidationFailed
from gru.extensions import db
from gru.rest import access
from gru.web.blueprint import blp, requires
from gru.web.desk import open_desk, purpose_missing

DESK_ROLES = ("agent", "supervisor")
STATUS_LABELS = {"pending": "à vérifier", "verified": "vérifié", "rejected": "refusé"}
METHOD_LABELS = {
    "original_seen": "original vu au guichet (niveau 500)",
    "scan_checked": "copie numérisée vérifiée (niveau 400)",
    "authoritative_source": "source faisant autorité (niveau 600)",
}


def desk_actor(contract):
    return DocumentActor(
        type="agent", id=g.agent.login, document_types=tuple(contract.document_types),
        party_kinds=tuple(contract.party_kinds), may_verify=True, identity_actor=access.current_actor(),
    )


def _page(contract, party_id, notice=None, error=None, status=200):
    party, documents = document_service.list_documents(party_id, desk_actor(contract))
    access.journal("documents:document:list", [(party.id, [f"document:{item.id}" for item in documents])])
    db.session.commit()
    types = document_service.document_types()
    return render_template(
        "documents.html", contract=contract, purpose=g.purpose, case_ref=g.case_ref, party=party,
        documents=documents, types=types, status_labels=STATUS_LABELS, method_labels=METHOD_LABELS,
        notice=notice, error=error,
    ), status


@blp.get("/parties/<uuid:party_id>/justificatifs")
@requires(*DESK_ROLES)
def party_documents(party_id):
    """The party's documents of the desk contract's types, newest first."""
    contract = open_desk()
    if purpose_missing():
        return render_template("search.html", contract=contract, purpose=None, case_ref=None, name="", items=None)
    return _page(contract, party_id)


@blp.get("/justificatifs/<uuid:document_id>/contenu")
@requires(*DESK_ROLES)
def download(document_id):
    """The content, journaled and recorded as a reuse like an API download."""
    contract = open_desk()
    if purpose_missing():
        return render_template("search.html", contract=contract, purpose=None, case_ref=None, name="", items=None)
    document, data_key = document_service.open_download(document_id, desk_actor(contract), g.purpose, g.case_ref)
    access.journal("documents:document:download", [(document.party.id, [f"document:{document.id}"])])
    db.session.commit()
    return content_response(document, data_key)


@blp.post("/justificatifs/<uuid:document_id>/verification")
@requires(*DESK_ROLES)
def verify(document_id):
    """Verify (certifying what the document proves) or reject, from the page's form."""
    contract = open_desk()
    if purpose_missing():
        return render_template("search.html", contract=contract, purpose=None, case_ref=None, name="", items=None)
    actor = desk_actor(contract)
    document = document_service.get_document(document_id, actor)
    party_id = document.party.id
    status = request.form.get("statut", "")
    method = request.form.get("methode") or None
    reason = request.form.get("motif", "").strip() or None
    try:
        document, outcomes = verify_document(document_id, status, method if status == "verified" else None,
                                             reason, actor)
    except ValidationFailed as error:
        db.session.rollback()
        messages = [" ".join(map(str, value)) for value in (error.errors or {}).values()]
        return _page(contract, party_id, error=" ".join(messages) or error.detail, status=422)
    changed = [key for key, outcome in outcomes.items() if outcome.status == "updated"]
    access.journal("documents:document:verify", [(party_id, [f"document:{document.id}", *changed])])
    db.session.commit()
    notice = f"Justificatif {STATUS_LABELS[document.status]}."
    if changed:
        notice += f" Données certifiées : {', '.join(sorted(changed))}."
    return _page(contract, party_id, notice=notice)


def documents_link(party_id):
    return url_for("web.party_documents", party_id=party_id)
