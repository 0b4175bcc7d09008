"""The consents on the party page and the agent's form, through Flask's test client."""

from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.events.models import Event
from gru.extensions import db
from tests.web.conftest import CSRF, desk, make_agent, signed_in  # noqa: F401


def _form(client, party):
    page = client.get(f"/parties/{party.id}").get_data(as_text=True)
    return page, CSRF.search(page).group(1)


def _post(client, party, token, **fields):
    data = {"csrf_token": token, "traitement": "newsletter", "etat": "donne", "canal": "desk",
            "version_texte": "newsletter-v1", **fields}
    return client.post(f"/parties/{party.id}/consentements", data=data)


def test_the_agent_records_a_consent_given_then_withdrawn(client, signed_in, newsletter, canteen, person):
    agent = signed_in("agent")
    page, token = _form(client, person)
    assert "Aucun consentement enregistré." in page
    assert 'value="newsletter"' in page and 'value="school_canteen"' not in page  # only consent-based purposes

    given = _post(client, person, token, fin_validite="2030-06-30")
    assert given.status_code == 302 and given.headers["Location"].endswith(f"/parties/{person.id}#consentements")
    page = client.get(f"/parties/{person.id}").get_data(as_text=True)
    assert "Consentement donné : Lettre d&#39;information de la ville." in page
    assert "Lettre d&#39;information de la ville" in page and "donné jusqu'au 30/06/2030" in page
    assert "Accueil (guichet)" in page and "consentement donné" in page  # the table and the history

    _, token = _form(client, person)
    assert _post(client, person, token, etat="retire", canal="phone").status_code == 302
    page = client.get(f"/parties/{person.id}").get_data(as_text=True)
    assert "retiré" in page and "Téléphone" in page
    events = db.session.scalars(select(Event.type).where(Event.party_id == person.id, Event.type.like("consent.%")))
    assert list(events) == ["consent.given", "consent.withdrawn"]
    entries = list(db.session.scalars(select(JournalEntry).where(JournalEntry.action.like("consent:%"))
                                      .order_by(JournalEntry.seq)))
    assert {entry.action for entry in entries} == {"consent:consent:list", "consent:consent:give",
                                                   "consent:consent:withdraw"}
    assert all(entry.actor_type == "agent" and entry.actor_id == agent.login for entry in entries)


def test_errors_are_readable_and_store_nothing(client, signed_in, newsletter, person):
    signed_in("agent")
    _, token = _form(client, person)
    refused = _post(client, person, token, etat="retire")
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Consentement non enregistré." in page and "rien à retirer" in page
    refused = _post(client, person, token, version_texte="", fin_validite="demain")
    assert refused.status_code == 422 and "fin de validité" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Event.pk).where(Event.type.like("consent.%"))) is None


def test_the_form_needs_its_csrf_token(client, signed_in, newsletter, person):
    signed_in("agent")
    refused = client.post(f"/parties/{person.id}/consentements", data={
        "traitement": "newsletter", "etat": "donne", "canal": "desk", "version_texte": "v1"})
    assert refused.status_code == 400 and "Formulaire refusé" in refused.get_data(as_text=True)


def test_without_the_consent_rights_the_section_is_not_shown(client, signed_in, newsletter, person, db_session):
    from flask import current_app

    from gru.auth.contracts import full_access_document, set_contract

    signed_in("agent")
    document = full_access_document(current_app.extensions["gru.catalogue"], purposes=["accueil"])
    set_contract("desk", {**document, "consents": []}, current_app.extensions["gru.catalogue"], author="tests")
    page, token = _form(client, person)
    assert "Consentements" not in page
    refused = _post(client, person, token)
    assert refused.status_code == 403
    assert "ne permet pas d&#39;enregistrer des consentements" in refused.get_data(as_text=True)
