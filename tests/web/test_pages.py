"""The agents' pages through Flask's test client, on SQLite and PostgreSQL."""

import html
import re
import time
import uuid

from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.identity.services.history import party_history
from gru.identity.services.parties import get_party
from tests.web.conftest import CSRF, PASSWORD, csrf_token, sign_in

ADDRESS = {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800"}


def _journal(db_session, **filters):
    query = select(JournalEntry).order_by(JournalEntry.seq)
    for name, value in filters.items():
        query = query.where(getattr(JournalEntry, name) == value)
    return list(db_session.scalars(query))


def _person(create_person, **extra):
    attributes = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F",
                  "postal_address": ADDRESS, **extra}
    return create_person(attributes=attributes).get_json()["party"]["id"]


def _edit(client, party_id, changes, process="declared"):
    form_page = client.get(f"/parties/{party_id}/modifier").get_data(as_text=True)
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', form_page).group(1))
    fields = dict(re.findall(r'<input name="(attr_[a-z_]+)" id="[a-z_]+" value="([^"]*)"', form_page))
    data = {
        **fields,
        "adresse_lignes": "12 rue Jean Jaurès",
        "adresse_code_postal": "98800",
        "adresse_commune": "Nouméa",
        "adresse_pays": "NC",
        "canal": "desk",
        "processus": process,
        "etag": etag,
        "csrf_token": CSRF.search(form_page).group(1),
        **changes,
    }
    return client.post(f"/parties/{party_id}/modifier", data=data)


def test_login_then_logout(client, desk, make_agent):
    agent = make_agent("agent")
    assert client.get("/personnes").headers["Location"].startswith("/connexion")

    refused = sign_in(client, agent.login, "wrong password!!")
    assert refused.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in refused.get_data(as_text=True)

    signed = sign_in(client, agent.login)
    assert signed.status_code == 302 and signed.headers["Location"] == "/personnes"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = client.get("/personnes")
    assert page.status_code == 200
    assert "Rechercher une personne" in page.get_data(as_text=True)

    out = client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/personnes")})
    assert "Vous êtes déconnecté" in out.get_data(as_text=True)
    assert client.get("/personnes").status_code == 302


def test_session_ends_after_idle_timeout(client, signed_in, app):
    signed_in("agent")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - (app.config["GRU_AGENT_SESSION_MINUTES"] * 60 + 5)

    response = client.get("/personnes")

    assert response.status_code == 302 and "expiree=1" in response.headers["Location"]
    assert "Votre session a expiré" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/personnes").status_code == 302


def test_form_without_csrf_token_is_refused_with_a_readable_page(client, desk, make_agent):
    agent = make_agent("agent")

    response = client.post("/connexion", data={"identifiant": agent.login, "mot_de_passe": PASSWORD})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Formulaire refusé" in response.get_data(as_text=True)


def test_search_and_record_pages_are_journaled_as_agent(client, create_person, signed_in, db_session):
    party_id = _person(create_person)
    agent = signed_in("agent")

    found = client.get("/personnes?nom=wamytan")
    assert found.status_code == 200
    assert f"/parties/{party_id}" in found.get_data(as_text=True)
    record = client.get(f"/parties/{party_id}")
    text = record.get_data(as_text=True)
    assert record.status_code == 200
    assert "Élise Marie" in text and "12 rue Jean Jaurès" in text and "500" in text

    entries = _journal(db_session, actor_type="agent")
    assert [entry.action for entry in entries] == ["identity:party:search", "identity:party:read",
                                                   "identity:party:history", "consent:consent:list"]
    assert {entry.actor_id for entry in entries} == {agent.login}
    assert {entry.party_id for entry in entries} == {party_id}
    assert {entry.purpose for entry in entries} == {"accueil"}
    assert "postal_address" in entries[1].attribute_keys


def test_agent_changes_an_address_and_history_names_the_agent(client, create_person, signed_in, db_session):
    party_id = _person(create_person)
    agent = signed_in("agent")

    response = _edit(client, party_id, {"adresse_lignes": "3 rue de Sébastopol", "adresse_commune": ""},
                     process="original_document_checked")

    text = response.get_data(as_text=True)
    assert response.status_code == 200, text
    assert "Adresse postale : mis à jour" in text
    assert "3 rue de Sébastopol" in text
    history = party_history(get_party(uuid.UUID(party_id)))
    last = [entry for entry in history if entry["key"] == "postal_address"][-1]
    assert last["author"] == {"type": "agent", "id": agent.login}
    assert last["new"]["lines"] == ["3 rue de Sébastopol"]
    actions = [entry.action for entry in _journal(db_session, actor_type="agent")]
    assert "identity:party:update" in actions


def test_lower_level_write_is_kept_in_history_for_an_agent(client, create_person, signed_in):
    party_id = _person(create_person)
    signed_in("agent")

    response = _edit(client, party_id, {"attr_given_names": "Elise"})

    text = response.get_data(as_text=True)
    assert "Prénoms : conservé en historique (niveau inférieur) (la valeur en place est certifiée au niveau 500)" in text
    assert "Élise Marie" in client.get(f"/parties/{party_id}").get_data(as_text=True)


def test_lower_level_write_by_a_supervisor_becomes_golden(client, create_person, signed_in):
    party_id = _person(create_person)
    signed_in("supervisor")

    response = _edit(client, party_id, {"attr_given_names": "Elise"})

    assert "mis à jour" in response.get_data(as_text=True)
    record = client.get(f"/parties/{party_id}").get_data(as_text=True)
    assert re.search(r"<td>Elise</td>", record)


def test_stale_etag_says_the_record_changed(client, create_person, signed_in):
    party_id = _person(create_person)
    signed_in("agent")

    response = _edit(client, party_id, {"attr_given_names": "Elise", "etag": '"stale"'})

    assert response.status_code == 412
    assert "La fiche a changé entre-temps" in response.get_data(as_text=True)


def test_invalid_value_is_shown_and_nothing_stored(client, create_person, signed_in):
    party_id = _person(create_person)
    signed_in("agent")

    response = _edit(client, party_id, {"adresse_code_postal": "12"})

    assert response.status_code == 422
    assert "invalide" in response.get_data(as_text=True)
    assert "98800" in client.get(f"/parties/{party_id}").get_data(as_text=True)


def test_dpo_sees_the_journal_and_its_verification_but_no_record(client, create_person, signed_in, db_session):
    party_id = _person(create_person)
    signed_in("dpo")

    assert client.get(f"/parties/{party_id}").status_code == 403
    assert client.get("/personnes").status_code == 403
    assert client.get("/administration").status_code == 403
    journal = client.get("/journal")
    assert journal.status_code == 200
    assert party_id in journal.get_data(as_text=True)
    verified = client.post("/journal/verification", data={"csrf_token": csrf_token(client, "/journal")})
    assert "Chaîne intègre" in verified.get_data(as_text=True)
    assert _journal(db_session, actor_type="agent") == []


def test_admin_sees_applications_and_no_record(client, create_person, signed_in):
    party_id = _person(create_person)
    signed_in("admin")

    page = client.get("/administration")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "desk" in text and "accueil" in text and "Wamytan" not in text
    assert "<td>lecture, écriture</td>" in text  # the desk contract's rights on consents
    assert client.get(f"/parties/{party_id}").status_code == 403
    assert client.get(f"/parties/{party_id}/modifier").status_code == 403
    assert client.get("/journal").status_code == 403


def test_missing_desk_contract_says_what_to_run(client, make_agent):
    agent = make_agent("agent")
    sign_in(client, agent.login)

    response = client.get("/personnes")

    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "gru apps create desk" in text and "gru contracts set desk" in text


def test_api_stays_outside_csrf(client, headers):
    response = client.post("/api/v1/parties", json={"kind": "household", "attributes": {"name": "Foyer"},
                                                    "channel": "desk", "process": "declared"}, headers=headers)
    assert response.status_code == 201
