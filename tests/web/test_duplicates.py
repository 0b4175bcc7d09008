"""The duplicate review pages: side by side, "pas un doublon", merge by a supervisor and its undoing."""

from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.identity.search import duplicates
from gru.identity.services import parties as party_service
from gru.identity.services.context import Actor, make_provenance
from tests.factories.identity import make_party
from tests.web.conftest import csrf_token

ELISE = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"}


def _pair(db_session):
    first = make_party(attributes=ELISE)
    second = make_party(attributes={**ELISE, "given_names": "Élise", "birth_date": "1987-03-15"})
    db_session.flush()
    duplicates.detect_pending()
    (suspicion,) = duplicates.list_suspicions()
    return first, second, suspicion


def test_an_agent_sees_the_pair_side_by_side_and_says_not_a_duplicate(client, signed_in, db_session):
    first, second, suspicion = _pair(db_session)
    signed_in("agent")
    listing = client.get("/doublons").get_data(as_text=True)
    assert f"/doublons/{suspicion.id}" in listing
    page = client.get(f"/doublons/{suspicion.id}").get_data(as_text=True)
    assert str(first.id) in page and str(second.id) in page and "faute de frappe probable" in page
    assert "Fusionner" not in page  # supervisors only
    actions = {entry.action for entry in db_session.scalars(select(JournalEntry))}
    assert {"identity:duplicate:list", "identity:duplicate:read"} <= actions
    token = csrf_token(client, f"/doublons/{suspicion.id}")
    response = client.post(f"/doublons/{suspicion.id}/decision", data={"csrf_token": token})
    assert response.status_code == 200 and "distinctes" in response.get_data(as_text=True)
    assert "Aucun doublon" in client.get("/doublons").get_data(as_text=True)


def test_a_supervisor_merges(client, signed_in, db_session):
    first, second, suspicion = _pair(db_session)
    signed_in("supervisor")
    token = csrf_token(client, f"/doublons/{suspicion.id}")
    response = client.post(f"/doublons/{suspicion.id}/fusion", data={"csrf_token": token, "survivant": str(first.id)})
    assert response.status_code == 302 and "/fusions/" in response.headers["Location"]
    record = client.get(response.headers["Location"]).get_data(as_text=True)
    assert str(first.id) in record and str(second.id) in record and "Annuler la fusion" in record
    merged = client.get(f"/parties/{second.id}").get_data(as_text=True)
    assert "Fiche fusionnée dans" in merged and str(first.id) in merged


def test_a_supervisor_undoes_a_merge_and_sees_what_stayed(client, signed_in, db_session):
    first, second, suspicion = _pair(db_session)
    signed_in("supervisor")
    token = csrf_token(client, f"/doublons/{suspicion.id}")
    location = client.post(f"/doublons/{suspicion.id}/fusion",
                           data={"csrf_token": token, "survivant": str(first.id)}).headers["Location"]
    # an agent adds a phone number to the merged record before the merge is found wrong
    survivor = party_service.get_party(first.id)
    party_service.update_party(first.id, survivor.etag, {"mobile_phone": "+687 75 12 34"},
                               make_provenance("desk", "declared"), Actor(type="agent", id="agent.desk"))
    db_session.flush()
    token = csrf_token(client, location)
    response = client.post(f"{location}/annulation", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get(location).get_data(as_text=True)
    assert "Fusion annulée" in page and "Annuler la fusion" not in page
    assert "resté sur la fiche conservée" in page and "mobile_phone" in page
    restored = client.get(f"/parties/{second.id}").get_data(as_text=True)
    assert "Fiche fusionnée dans" not in restored and "statut active" in restored
    actions = {entry.action for entry in db_session.scalars(select(JournalEntry))}
    assert {"identity:party:unmerge", "identity:merge:read"} <= actions


def test_an_agent_sees_a_merge_but_may_not_undo_it(client, signed_in, make_agent, db_session):
    from gru.identity.search import merge

    first, second, _suspicion = _pair(db_session)
    record = merge.merge(first.id, second.id, Actor(type="agent", id="supervisor.test"))
    db_session.flush()
    signed_in("agent")
    page = client.get(f"/fusions/{record.id}").get_data(as_text=True)
    assert str(second.id) in page and "Annuler la fusion" not in page
    token = csrf_token(client, f"/fusions/{record.id}")
    assert client.post(f"/fusions/{record.id}/annulation", data={"csrf_token": token}).status_code == 403


def test_an_agent_may_not_merge(client, signed_in, db_session):
    first, _second, suspicion = _pair(db_session)
    signed_in("agent")
    token = csrf_token(client, f"/doublons/{suspicion.id}")
    response = client.post(f"/doublons/{suspicion.id}/fusion", data={"csrf_token": token, "survivant": str(first.id)})
    assert response.status_code == 403
