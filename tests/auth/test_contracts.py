"""Service contracts: each application sees, writes and searches exactly what it may."""

import pytest
from sqlalchemy import select

from gru.audit.models import JournalEntry
from tests.api_helpers import assert_problem
from tests.factories.auth import fetch_token, make_application

CIVIL_STATUS = {
    "purposes": ["school_enrolment", "canteen_billing"],
    "party_kinds": ["person"],
    "attributes": {
        "family_name": ["read", "search"],
        "given_names": ["read", "write"],
        "birth_date": ["read"],
    },
    "max_level": 300,
}


@pytest.fixture
def person_id(client, headers, create_person):
    created = create_person(
        attributes={"family_name": "Wamytan", "given_names": "Élise", "birth_date": "1987-03-14",
                    "email": "elise@example.nc", "mobile_phone": "+687 78 12 34"},
        process="declared",
    )
    return created.get_json()["party"]["id"]


@pytest.fixture
def school(client, db_session):
    application, secret = make_application("ecoles", contract=CIVIL_STATUS)
    token = fetch_token(client, application, secret)
    return {"Authorization": f"Bearer {token}", "GRU-Purpose": "school_enrolment"}


def test_reads_show_only_readable_attributes(client, school, person_id):
    body = client.get(f"/api/v1/parties/{person_id}", headers=school).get_json()

    assert set(body["attributes"]) == {"family_name", "given_names", "birth_date"}
    assert set(body["provenance"]) == {"family_name", "given_names", "birth_date"}
    listed = client.get("/api/v1/parties?where=family_name:Wamytan", headers=school).get_json()["items"]
    assert [set(item["attributes"]) for item in listed] == [{"family_name", "given_names", "birth_date"}]
    history = client.get(f"/api/v1/parties/{person_id}/history", headers=school).get_json()["items"]
    assert {entry["key"] for entry in history} == {"family_name", "given_names", "birth_date"}


def test_writes_outside_the_contract_are_forbidden_and_not_stored(client, headers, school, person_id):
    etag = client.get(f"/api/v1/parties/{person_id}", headers=school).headers["ETag"]

    response = client.patch(
        f"/api/v1/parties/{person_id}",
        json={"attributes": {"given_names": "Élise Marie", "email": "pirate@example.nc"}, "channel": "online",
              "process": "declared"},
        headers={**school, "If-Match": etag},
    )

    assert response.get_json()["attributes"] == {"given_names": {"status": "updated"},
                                                 "email": {"status": "forbidden", "reason": "The caller may not write this attribute."}}
    full = client.get(f"/api/v1/parties/{person_id}", headers=headers).get_json()
    assert full["attributes"]["email"] == "elise@example.nc"
    history = client.get(f"/api/v1/parties/{person_id}/history", headers=headers).get_json()["items"]
    assert "pirate@example.nc" not in str(history)


def test_an_application_cannot_claim_more_than_its_level(client, school, person_id):
    etag = client.get(f"/api/v1/parties/{person_id}", headers=school).headers["ETag"]
    response = client.patch(
        f"/api/v1/parties/{person_id}",
        json={"attributes": {"given_names": "Élise"}, "channel": "desk", "process": "original_document_checked"},
        headers={**school, "If-Match": etag},
    )
    assert response.get_json()["attributes"]["given_names"]["status"] == "forbidden"


def test_filtering_on_an_attribute_not_searchable_is_403(client, school):
    assert_problem(client.get("/api/v1/parties?where=birth_date:1987-03-14", headers=school), 403)


def test_parties_of_other_kinds_are_out_of_reach(client, headers, school):
    household = client.post(
        "/api/v1/parties", json={"kind": "household", "attributes": {"name": "Foyer"}, "channel": "desk",
                                 "process": "declared"}, headers=headers,
    ).get_json()["party"]["id"]
    assert_problem(client.get(f"/api/v1/parties/{household}", headers=school), 403)
    assert all(item["kind"] == "person" for item in client.get("/api/v1/parties", headers=school).get_json()["items"])


def test_purpose_is_required_and_must_be_in_the_contract(client, school, person_id):
    url = f"/api/v1/parties/{person_id}"
    without = {key: value for key, value in school.items() if key != "GRU-Purpose"}

    assert "GRU-Purpose" in assert_problem(client.get(url, headers=without), 400)["detail"]
    assert_problem(client.get(url, headers={**school, "GRU-Purpose": "marketing"}), 403)
    assert client.get(url, headers={**school, "GRU-Purpose": "canteen_billing"}).status_code == 200


def test_an_application_without_contract_touches_no_personal_data(client, db_session, person_id):
    application, secret = make_application("sans-contrat", contract=None)
    token = fetch_token(client, application, secret)
    assert_problem(client.get(f"/api/v1/parties/{person_id}", headers={"Authorization": f"Bearer {token}"}), 403)


def test_contracts_are_versioned_through_the_admin_api(client, db_session):
    admin, secret = make_application("console", scopes=["admin"], contract=None)
    make_application("caf")
    token = {"Authorization": f"Bearer {fetch_token(client, admin, secret)}"}

    put = client.put("/api/v1/applications/caf/contract", json=CIVIL_STATUS, headers=token)
    invalid = client.put("/api/v1/applications/caf/contract", json={**CIVIL_STATUS, "max_level": 42}, headers=token)
    versions = client.get("/api/v1/applications/caf/contract/versions", headers=token).get_json()["items"]

    assert put.status_code == 200 and put.get_json()["version"] == 2
    assert "max_level" in assert_problem(invalid, 422)["errors"]
    assert [version["version"] for version in versions] == [1, 2]
    assert_problem(client.get("/api/v1/parties", headers=token), 403)


def test_every_read_is_journaled_with_purpose_and_case(client, db_session, school, person_id):
    client.get(f"/api/v1/parties/{person_id}", headers={**school, "GRU-Case-Ref": "DOSSIER-2026-0042"})

    entry = db_session.scalars(select(JournalEntry).order_by(JournalEntry.seq.desc())).first()
    assert entry.action == "identity:party:read"
    assert entry.party_id == person_id and entry.actor_id == "ecoles"
    assert entry.attribute_keys == ["birth_date", "family_name", "given_names"]
    assert entry.purpose == "school_enrolment" and entry.case_ref == "DOSSIER-2026-0042"
    assert "Wamytan" not in str(entry.__dict__)


def test_a_list_leaves_one_entry_per_party(client, db_session, headers, create_person, school):
    for given in ("Paul", "Rose", "Jean"):
        create_person(attributes={"family_name": "Kaloi", "given_names": given})
    before = db_session.scalar(select(JournalEntry.seq).order_by(JournalEntry.seq.desc()).limit(1))

    items = client.get("/api/v1/parties?where=family_name:Kaloi", headers=school).get_json()["items"]

    entries = db_session.scalars(select(JournalEntry).where(JournalEntry.seq > before)).all()
    assert sorted(entry.party_id for entry in entries) == sorted(item["id"] for item in items)
    assert {entry.action for entry in entries} == {"identity:party:list"}


def test_writes_are_journaled_with_the_keys_changed(client, db_session, school, person_id):
    etag = client.get(f"/api/v1/parties/{person_id}", headers=school).headers["ETag"]
    client.patch(
        f"/api/v1/parties/{person_id}",
        json={"attributes": {"given_names": "Élise Marie"}, "channel": "online", "process": "declared"},
        headers={**school, "If-Match": etag},
    )
    update = db_session.scalars(select(JournalEntry).where(JournalEntry.action == "identity:party:update")).one()
    assert update.attribute_keys == ["given_names"]


def test_journal_failure_returns_no_personal_data(client, school, person_id, monkeypatch):
    """Fail closed. The failure is injected: a full disk or a broken journal table cannot
    be provoked reliably inside a rolled-back test transaction."""

    def broken(session, entries):
        raise RuntimeError("journal unavailable")

    monkeypatch.setattr("gru.rest.access.record_accesses", broken)
    response = client.get(f"/api/v1/parties/{person_id}", headers=school)

    assert_problem(response, 500)
    assert "Wamytan" not in response.get_data(as_text=True)


def test_the_caller_cache_applies_changes_within_its_delay(db_session):
    from gru.auth.contracts import CallerCache

    application, _ = make_application("cache-test")
    cached, uncached = CallerCache(ttl=60), CallerCache(ttl=0)
    assert cached.get(application.client_id)[0].is_active

    application.is_active = False
    db_session.flush()

    assert cached.get(application.client_id)[0].is_active
    assert not uncached.get(application.client_id)[0].is_active


def test_writes_on_parties_of_other_kinds_are_403_and_store_nothing(client, headers, school, person_id):
    household = client.post(
        "/api/v1/parties", json={"kind": "household", "attributes": {"name": "Foyer"}, "channel": "desk",
                                 "process": "declared"}, headers=headers,
    )
    household_id = household.get_json()["party"]["id"]
    change = {"attributes": {"name": "Foyer Hnawia"}, "channel": "online", "process": "declared"}

    patched = client.patch(f"/api/v1/parties/{household_id}", json=change,
                           headers={**school, "If-Match": household.headers["ETag"]})
    created = client.post("/api/v1/parties", json={"kind": "household", **change}, headers=school)
    linked = client.post("/api/v1/links", json={"kind": "member_of", "person_id": person_id,
                                               "target_id": household_id, "role": "head"}, headers=school)

    for response in (patched, created, linked):
        assert_problem(response, 403)
    assert client.get(f"/api/v1/parties/{household_id}", headers=headers).get_json()["attributes"] == {"name": "Foyer"}
    assert client.get(f"/api/v1/parties/{household_id}/links", headers=headers).get_json()["items"] == []
