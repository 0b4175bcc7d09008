"""Duplicates reviewed side by side, "not a duplicate" remembered, locks, merge and unmerge.

Merge keeps everything (history of both, links, identifiers, cross-references,
documents); unmerge restores both parties and says what it could not tell."""

import pytest
from sqlalchemy import select

from gru.events.models import Event
from gru.identity.search import duplicates
from gru.identity.search.models import DuplicateSuspicion
from tests.factories.auth import fetch_token, make_application
from tests.factories.identity import make_party
from tests.documents.conftest import pdf, vault_contract

ELISE = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"}


@pytest.fixture
def pair(db_session):
    first = make_party(attributes=ELISE)
    second = make_party(attributes={**ELISE, "family_name": "Wamitan", "birth_date": "1987-03-15",
                                    "email": "elise@example.nc"}, process="original_document_checked")
    db_session.flush()
    return first, second


def _open(client, headers):
    return client.get("/api/v1/duplicates", headers=headers).get_json()["items"]


def test_the_job_proposes_pairs_with_scores(client, headers, pair, db_session):
    examined, proposed = duplicates.detect_pending()
    assert examined >= 2 and proposed == 1
    items = _open(client, headers)
    assert len(items) == 1
    assert {party["id"] for party in items[0]["parties"]} == {str(pair[0].id), str(pair[1].id)}
    assert items[0]["decision"] == "possible" and items[0]["explanation"]["birth_date"]["agreement"] == "typo"
    assert duplicates.detect_pending() == (0, 0)


def test_the_job_compares_two_records_of_one_number_whose_names_all_changed(client, headers, db_session):
    first = make_party(attributes={"family_name": "Wamytan", "given_names": "Élise", "birth_date": "1987-03-14",
                                   "social_security_number": "4072236"})
    second = make_party(attributes={"family_name": "Gope", "given_names": "Marie", "birth_date": "1987-03-14",
                                    "social_security_number": "4072236"})
    make_party(attributes={"family_name": "Kaouha", "given_names": "Régis", "birth_date": "1987-03-14"})
    db_session.flush()
    duplicates.detect_pending()
    items = _open(client, headers)
    assert [{party["id"] for party in item["parties"]} for item in items] == [{str(first.id), str(second.id)}]
    assert items[0]["decision"] == "possible"  # other given names: never decided without a person
    assert items[0]["explanation"]["social_security_number"]["agreement"] == "exact"


def test_not_a_duplicate_is_remembered(client, headers, pair, db_session):
    duplicates.detect_pending()
    suspicion = _open(client, headers)[0]
    response = client.post(f"/api/v1/duplicates/{suspicion['id']}/decision", headers=headers,
                           json={"decision": "not_duplicate"})
    assert response.status_code == 200 and response.get_json()["status"] == "not_duplicate"
    duplicates.propose_for(pair[0])
    duplicates.propose_for(pair[1])
    assert _open(client, headers) == []


def test_a_suspicion_under_review_is_locked(client, headers, pair, db_session):
    duplicates.detect_pending()
    suspicion = _open(client, headers)[0]
    assert client.post(f"/api/v1/duplicates/{suspicion['id']}/review", headers=headers).status_code == 200
    application, secret = make_application("other-desk")
    other = {"Authorization": f"Bearer {fetch_token(client, application, secret)}"}
    assert client.post(f"/api/v1/duplicates/{suspicion['id']}/review", headers=other).status_code == 409
    response = client.post(f"/api/v1/duplicates/{suspicion['id']}/decision", headers=other,
                           json={"decision": "not_duplicate"})
    assert response.status_code == 409


def _merge(client, headers, survivor, merged, **extra):
    response = client.post("/api/v1/merges", headers=headers,
                           json={"survivor_id": str(survivor.id), "merged_id": str(merged.id), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _record(client, headers, party):
    return client.get(f"/api/v1/parties/{party.id}", headers=headers).get_json()


def test_merge_keeps_everything_and_survivorship_chooses(client, headers, pair, db_session):
    survivor, merged = pair
    household = make_party("household", {"name": "Foyer Wamytan"})
    db_session.flush()
    assert client.post("/api/v1/links", headers=headers, json={
        "person_id": str(merged.id), "kind": "member_of", "target_id": str(household.id), "role": "head",
        "channel": "desk"}).status_code == 201
    assert client.post(f"/api/v1/parties/{merged.id}/cross-references", headers=headers,
                       json={"local_id": "CAFAT-1", "channel": "application"}).status_code == 201
    duplicates.detect_pending()
    suspicion = _open(client, headers)[0]
    merge = _merge(client, headers, survivor, merged, suspicion_id=suspicion["id"])
    record = _record(client, headers, survivor)
    # the merged party was certified at 500: its values win; the e-mail only it had is kept
    assert record["attributes"]["family_name"] == "Wamitan"
    assert record["provenance"]["family_name"]["level"] == 500
    assert record["attributes"]["email"] == "elise@example.nc"
    assert record["cross_references"] == [{"application": "portail", "local_id": "CAFAT-1"}]
    history = client.get(f"/api/v1/parties/{survivor.id}/history", headers=headers,
                         query_string={"limit": 500}).get_json()["items"]
    assert {(entry["subject"], entry["action"]) for entry in history} >= {("xref", "moved_in"), ("link", "moved_in"),
                                                                         ("party", "merged_from")}
    family_values = [entry["new"] for entry in history if entry["key"] == "family_name"]
    assert sorted(family_values) == ["Wamitan", "Wamytan"]  # the history of both
    links = client.get(f"/api/v1/parties/{survivor.id}/links", headers=headers).get_json()["items"]
    assert [link["target_id"] for link in links] == [str(household.id)]
    old = _record(client, headers, merged)
    assert old["status"] == "merged" and old["merged_into"] == str(survivor.id)
    assert client.get(f"/api/v1/duplicates/{suspicion['id']}", headers=headers).get_json()["status"] == "merged"
    events = db_session.scalars(select(Event).where(Event.type == "party.merged")).all()
    assert {event.party_id for event in events} == {survivor.id, merged.id}
    assert events[0].data["survivor_id"] == str(survivor.id)
    search = client.get("/api/v1/parties/search", headers=headers, query_string={"q": "Elise Wamytan", "kind": "person"}).get_json()
    assert [item["party"]["id"] for item in search["items"]] == [str(survivor.id)]
    assert merge["moved"]["attribute_values"] == 5


def test_unmerge_restores_both_and_says_what_it_could_not_tell(client, headers, pair, db_session):
    survivor, merged = pair
    before = (_record(client, headers, survivor), _record(client, headers, merged))
    merge = _merge(client, headers, survivor, merged)
    etag = client.get(f"/api/v1/parties/{survivor.id}", headers=headers).headers["ETag"]
    client.patch(f"/api/v1/parties/{survivor.id}", headers={**headers, "If-Match": etag},
                 json={"attributes": {"mobile_phone": "+687 75 12 34"}, "channel": "desk", "process": "declared"})
    response = client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()["unmerge_report"]
    assert report["kept_on_survivor"]["attribute_values"] == ["mobile_phone"]
    after = (_record(client, headers, survivor), _record(client, headers, merged))
    assert after[1]["status"] == "active" and after[1]["merged_into"] is None
    assert after[1]["attributes"] == before[1]["attributes"]
    assert after[0]["attributes"] == {**before[0]["attributes"], "mobile_phone": "+687751234"}
    assert client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers).status_code == 409
    # undone: the pair is known to be two people
    assert db_session.scalar(select(DuplicateSuspicion.status)) in (None, "not_duplicate")


def test_merge_needs_the_merge_scope(client, pair):
    application, secret = make_application("reader", scopes=["parties:read", "parties:write"])
    token = fetch_token(client, application, secret)
    response = client.post("/api/v1/merges", headers={"Authorization": f"Bearer {token}"},
                           json={"survivor_id": str(pair[0].id), "merged_id": str(pair[1].id)})
    assert response.status_code == 403


@pytest.fixture
def vault_headers(app, client, db_session):
    """A real token of an application that may read and upload every document type."""
    application, secret = make_application("vault-desk", contract=vault_contract(app.extensions["gru.catalogue"]))
    return {"Authorization": f"Bearer {fetch_token(client, application, secret)}"}


def _upload_card(client, headers, party):
    """An identity card uploaded on ``party``; returns its document id."""
    uploaded = client.post(f"/api/v1/parties/{party.id}/documents", query_string={"type": "identity_card"},
                           data=pdf(), headers={**headers, "Content-Type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.get_json()
    return uploaded.get_json()["id"]


def test_documents_move_to_the_survivor_and_back(client, vault_headers, pair):
    headers = vault_headers
    survivor, merged = pair
    document_id = _upload_card(client, headers, merged)
    merge = _merge(client, headers, survivor, merged)
    documents = client.get(f"/api/v1/parties/{survivor.id}/documents", headers=headers).get_json()["items"]
    assert [item["id"] for item in documents] == [document_id]
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=headers).status_code == 200
    client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers)
    assert client.get(f"/api/v1/parties/{merged.id}/documents", headers=headers).get_json()["items"]
    # the reuse recorded while merged follows its document back
    reuses = client.get(f"/api/v1/parties/{merged.id}/document-reuses", headers=headers).get_json()["items"]
    assert len(reuses) == 1


def _patch(client, headers, party, attributes, **provenance):
    etag = client.get(f"/api/v1/parties/{party.id}", headers=headers).headers["ETag"]
    response = client.patch(f"/api/v1/parties/{party.id}", headers={**headers, "If-Match": etag},
                            json={"attributes": attributes, "channel": "desk", "process": "declared", **provenance})
    assert response.status_code == 200, response.get_json()


def test_unmerge_places_what_an_application_added_on_the_party_it_knew(client, headers, pair, db_session):
    survivor, merged = pair
    caf = {"Authorization": f"Bearer {fetch_token(client, *make_application('caf'))}"}
    assert client.post(f"/api/v1/parties/{merged.id}/cross-references", headers=caf,
                       json={"local_id": "CAF-1", "channel": "application"}).status_code == 201
    merge = _merge(client, headers, survivor, merged)
    # after the merge, the CAF (which knew only the merged party) and the desk write on the survivor
    _patch(client, caf, survivor, {"mobile_phone": "+687 75 12 34", "family_name": "Wamitan-Gope"})
    assert client.post(f"/api/v1/parties/{survivor.id}/cross-references", headers=caf,
                       json={"local_id": "CAF-2", "channel": "application"}).status_code == 201
    _patch(client, headers, survivor, {"landline_phone": "+687 27 12 34"})
    response = client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()["unmerge_report"]
    assert report["placed_on_merged"]["attribute_values"] == ["family_name", "mobile_phone"]
    assert report["placed_on_merged"]["cross_references"] == ["caf:CAF-2"]
    assert report["kept_on_survivor"]["attribute_values"] == ["landline_phone"]
    assert report["note"]
    survivor_record, merged_record = _record(client, headers, survivor), _record(client, headers, merged)
    assert merged_record["attributes"]["mobile_phone"] == "+687751234"
    # its certified name stays golden; the CAF's declared one is in its history, not the survivor's
    assert merged_record["attributes"]["family_name"] == "Wamitan"
    history = {party.id: [entry["new"] for entry in client.get(
        f"/api/v1/parties/{party.id}/history", headers=headers, query_string={"limit": 500}).get_json()["items"]
        if entry["key"] == "family_name"] for party in pair}
    assert "Wamitan-Gope" in history[merged.id] and "Wamitan-Gope" not in history[survivor.id]
    assert {item["local_id"] for item in _record(client, caf, merged)["cross_references"]} == {"CAF-1", "CAF-2"}
    assert "mobile_phone" not in survivor_record["attributes"]
    assert survivor_record["attributes"]["family_name"] == "Wamytan"  # its own name again
    assert survivor_record["attributes"]["landline_phone"] == "+687271234"
    assert _record(client, caf, survivor)["cross_references"] == []


def test_unmerge_sends_a_value_back_with_its_document(client, vault_headers, pair):
    headers = vault_headers
    survivor, merged = pair
    document_id = _upload_card(client, headers, merged)
    merge = _merge(client, headers, survivor, merged)
    # an agent reads the card now on the survivor and records the birth place it shows
    _patch(client, headers, survivor, {"birth_place": "98818"}, document_id=document_id)
    report = client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers).get_json()["unmerge_report"]
    assert report["placed_on_merged"]["attribute_values"] == ["birth_place"]
    assert report["kept_on_survivor"]["attribute_values"] == [] and report["note"] is None
    assert _record(client, headers, merged)["attributes"]["birth_place"] == "98818"
    assert "birth_place" not in _record(client, headers, survivor)["attributes"]


def test_an_update_of_names_is_checked_at_once_and_contact_details_by_the_job(client, headers, db_session):
    elise = make_party(attributes=ELISE)
    other = make_party(attributes={**ELISE, "family_name": "Gope", "given_names": "Élise"})
    db_session.flush()
    duplicates.detect_pending()  # nothing alike yet
    assert _open(client, headers) == []
    _patch(client, headers, other, {"email": "elise@example.nc"})
    assert _open(client, headers) == []  # contact details only: left to the job
    _patch(client, headers, other, {"family_name": "Wamitan"})
    (suspicion,) = _open(client, headers)  # a name: checked with the update itself
    assert suspicion["origin"] == "update"
    assert {party["id"] for party in suspicion["parties"]} == {str(elise.id), str(other.id)}


def test_the_job_checks_a_party_whose_contact_details_changed(client, headers, db_session):
    elise = make_party(attributes={**ELISE, "email": "elise@example.nc"})
    # a namesake of the other sex, no birth date: not proposed until they share an e-mail address
    namesake = make_party(attributes={"family_name": "Wamytan", "given_names": "Élise", "sex": "M"})
    db_session.flush()
    duplicates.detect_pending()
    before = {item["id"] for item in _open(client, headers)}
    _patch(client, headers, namesake, {"email": "elise@example.nc"})
    assert {item["id"] for item in _open(client, headers)} == before
    duplicates.detect_pending()
    proposed = [item for item in _open(client, headers) if item["id"] not in before]
    assert [{party["id"] for party in item["parties"]} for item in proposed] == [{str(elise.id), str(namesake.id)}]
    assert proposed[0]["origin"] == "job"


def test_unmerge_sends_back_a_document_uploaded_since_by_an_application_that_knew_the_merged_party(
        client, vault_headers, pair):
    survivor, merged = pair
    assert client.post(f"/api/v1/parties/{merged.id}/cross-references", headers=vault_headers,
                       json={"local_id": "VAULT-1", "channel": "application"}).status_code == 201
    merge = _merge(client, vault_headers, survivor, merged)
    document_id = _upload_card(client, vault_headers, survivor)  # the application still speaks of its own record
    _patch(client, vault_headers, survivor, {"birth_place": "98818"}, document_id=document_id)
    report = client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=vault_headers).get_json()["unmerge_report"]
    assert report["placed_on_merged"]["documents"] == [document_id]
    assert report["placed_on_merged"]["attribute_values"] == ["birth_place"]
    assert report["kept_on_survivor"]["documents"] == []
    documents = client.get(f"/api/v1/parties/{merged.id}/documents", headers=vault_headers).get_json()["items"]
    assert [item["id"] for item in documents] == [document_id]
    assert client.get(f"/api/v1/parties/{survivor.id}/documents", headers=vault_headers).get_json()["items"] == []
