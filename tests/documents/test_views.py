"""The agents' documents page: list, download, verify, reject; journaled like the API."""

import re

from flask import current_app
from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.documents.models import DocumentReuse
from gru.extensions import db
from tests.documents.conftest import pdf, vault_contract
from tests.factories.auth import make_application
from tests.web.conftest import CSRF, make_agent, sign_in  # noqa: F401


def desk_with_documents(document_types):
    catalogue = current_app.extensions["gru.catalogue"]
    make_application("desk", contract=vault_contract(catalogue, document_types, purposes=["accueil"]))


def test_agent_lists_downloads_and_verifies(client, make_agent, upload, person):  # noqa: F811
    card = upload(pdf(70_000)).get_json()["id"]
    upload(pdf(3000, b"TAX"), type="tax_notice")
    desk_with_documents(["identity_card"])
    agent = make_agent("agent")
    assert sign_in(client, agent.login).status_code == 302

    page = client.get(f"/parties/{person.id}/justificatifs")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"document-{card}" in text and "Avis d'imposition" not in text
    listed = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "documents:document:list")).all()
    assert [(entry.actor_type, entry.actor_id) for entry in listed] == [("agent", agent.login)]

    content = client.get(f"/justificatifs/{card}/contenu")
    assert content.data == pdf(70_000)
    (reuse,) = db.session.scalars(select(DocumentReuse))
    assert (reuse.actor_type, reuse.actor_id, reuse.purpose) == ("agent", agent.login, "accueil")

    token = CSRF.search(text).group(1)
    refused = client.post(f"/justificatifs/{card}/verification", data={"statut": "rejected", "csrf_token": token})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    done = client.post(f"/justificatifs/{card}/verification",
                       data={"statut": "verified", "methode": "original_seen", "csrf_token": token})
    assert done.status_code == 200
    notice = re.search(r'id="notice">([^<]+)<', done.get_data(as_text=True)).group(1)
    assert "vérifié" in notice and "family_name" in notice
    record = client.get(f"/parties/{person.id}").get_data(as_text=True)
    assert "Justificatifs" in record


def test_verification_form_needs_the_csrf_token(client, make_agent, upload):  # noqa: F811
    card = upload().get_json()["id"]
    desk_with_documents(["identity_card"])
    sign_in(client, make_agent("agent").login)
    response = client.post(f"/justificatifs/{card}/verification", data={"statut": "verified", "methode": "scan_checked"})
    assert response.status_code == 400
