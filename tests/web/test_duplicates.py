"""The duplicate review pages: side by side, "pas un doublon", merge by a supervisor."""

from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.identity.search import duplicates
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
    assert response.status_code == 302
    merged = client.get(f"/parties/{second.id}").get_data(as_text=True)
    assert "Fiche fusionnée dans" in merged and str(first.id) in merged


def test_an_agent_may_not_merge(client, signed_in, db_session):
    first, _second, suspicion = _pair(db_session)
    signed_in("agent")
    token = csrf_token(client, f"/doublons/{suspicion.id}")
    response = client.post(f"/doublons/{suspicion.id}/fusion", data={"csrf_token": token, "survivant": str(first.id)})
    assert response.status_code == 403
